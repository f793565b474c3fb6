// Checks a virtualenv folder before the interpreter starts in it; no Python involved.
#include "python/venv.hpp"

#include <Python.h>
#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace erlang_python {
namespace {

std::string trim(const std::string &s) {
    auto first
        = std::find_if_not(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); });
    auto last
        = std::find_if_not(s.rbegin(), s.rend(), [](unsigned char c) { return std::isspace(c); });
    return first < last.base() ? std::string(first, last.base()) : std::string();
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

// "3.11.2" or "3.11.2.final.0" -> "3.11"
std::string major_minor(const std::string &version) {
    auto first_dot = version.find('.');
    if (first_dot == std::string::npos) {
        return version;
    }
    auto second_dot = version.find('.', first_dot + 1);
    return version.substr(0, second_dot);
}

bool is_executable(const std::string &path) {
    return ::access(path.c_str(), X_OK) == 0;
}

} // namespace

std::string venv_python_version(const std::string &pyvenv_cfg) {
    std::istringstream lines(pyvenv_cfg);
    std::string line;
    std::string version;
    while (std::getline(lines, line)) {
        auto eq = line.find('=');
        if (eq == std::string::npos) {
            continue;
        }
        std::string key = lower(trim(line.substr(0, eq)));
        std::string value = trim(line.substr(eq + 1));
        if (key == "version_info") {
            return major_minor(value); // virtualenv's precise form wins
        }
        if (key == "version") {
            version = major_minor(value);
        }
    }
    return version;
}

std::string venv_python(const std::string &dir) {
    const std::string cfg_path = dir + "/pyvenv.cfg";
    std::ifstream cfg(cfg_path);
    if (!cfg) {
        struct stat st {};
        if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
            throw std::invalid_argument("the virtualenv folder '" + dir + "' does not exist");
        }
        throw std::invalid_argument("'" + dir + "' is not a virtualenv: it has no pyvenv.cfg");
    }
    std::stringstream text;
    text << cfg.rdbuf();
    const std::string ours
        = std::to_string(PY_MAJOR_VERSION) + "." + std::to_string(PY_MINOR_VERSION);
    const std::string theirs = venv_python_version(text.str());
    if (theirs.empty()) {
        throw std::invalid_argument("'" + cfg_path + "' names no Python version");
    }
    if (theirs != ours) {
        throw std::invalid_argument("the virtualenv '" + dir + "' was made by Python " + theirs
                                    + ", but the port runs Python " + ours
                                    + ": make it with python" + ours + " -m venv");
    }
    for (const char *name : {"/bin/python3", "/bin/python"}) {
        if (is_executable(dir + name)) {
            return dir + name;
        }
    }
    throw std::invalid_argument("the virtualenv '" + dir + "' has no bin/python3");
}

} // namespace erlang_python
