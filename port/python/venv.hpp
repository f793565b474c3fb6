// Checks a virtualenv folder before the interpreter starts in it; no Python involved.
#pragma once

#include <string>

namespace erlang_python {

// The venv's Python executable (DIR/bin/python3, else DIR/bin/python) for
// PyConfig.executable: site.py then finds DIR/pyvenv.cfg beside it and
// makes DIR sys.prefix, with its site-packages (.pth files included).
// Throws std::invalid_argument with a sentence naming the problem when DIR
// has no pyvenv.cfg, its Python version is not this port's major.minor, or
// it has no interpreter.
std::string venv_python(const std::string &dir);

// Pure: the major.minor ("3.11") of the Python named by pyvenv.cfg's text
// (its `version_info` or `version` line); empty when it names none.
std::string venv_python_version(const std::string &pyvenv_cfg);

} // namespace erlang_python
