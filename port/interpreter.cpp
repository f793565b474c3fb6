// Starts and stops the embedded CPython interpreter with the `erlang` package importable.
#include "interpreter.hpp"

#include "code_cache.hpp"
#include "module_lookup.hpp"
#include "python_types.hpp"

#include <climits>
#include <stdexcept>
#include <unistd.h>

namespace erlang_python {

std::string executable_dir() {
    char path[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0) {
        return ".";
    }
    std::string p(path, std::size_t(n));
    auto slash = p.rfind('/');
    return slash == std::string::npos ? "." : p.substr(0, slash);
}

python_interpreter::python_interpreter(const options &o)
    : interpreter_(/*init_signal_handlers=*/false) {
    try {
        py::module_ sys = py::module_::import("sys");
        // fds 1 and 2 are pipes to Erlang's logger: send whole lines promptly.
        sys.attr("stdout").attr("reconfigure")(py::arg("line_buffering") = true);
        sys.attr("stderr").attr("reconfigure")(py::arg("line_buffering") = true);
        py::list path = sys.attr("path");
        // Our own package first, then the user's folders in the order given.
        path.insert(0, executable_dir() + "/python");
        std::size_t at = 1;
        for (const auto &dir : o.python_path) {
            path.insert(at++, dir);
        }
        // The package `erlang` is not imported here: user code imports it, and
        // the term codec on the first value that needs one of its classes
        // (python_types.hpp). Start-up stays at the bare interpreter's cost.
        // time.sleep becomes interruptible by a cancel from Erlang.
        py::module_ time = py::module_::import("time");
        py::module_ native = py::module_::import("_erlang");
        native.attr("_real_sleep") = time.attr("sleep");
        time.attr("sleep") = native.attr("sleep");
    } catch (py::error_already_set &e) {
        // Turned into a plain exception while the interpreter still exists.
        throw std::runtime_error(std::string("Python start-up failed: ") + e.what());
    }
}

python_interpreter::~python_interpreter() {
    release_code_cache();
    release_module_lookup();
    release_python_types();
}

std::string python_interpreter::python_version() {
    std::string v = Py_GetVersion();
    return v.substr(0, v.find(' '));
}

} // namespace erlang_python
