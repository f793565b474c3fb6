// Catch2 tests of the virtualenv check (venv.hpp): pyvenv.cfg parsing and the start errors.
#include "python/venv.hpp"

#include <Python.h>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <sys/stat.h>

using namespace erlang_python;

namespace {

const std::string ours = std::to_string(PY_MAJOR_VERSION) + "." + std::to_string(PY_MINOR_VERSION);

// A fresh folder under /tmp, left for the system to clean.
std::string temp_dir() {
    char name[] = "/tmp/ep_venv_test_XXXXXX";
    REQUIRE(::mkdtemp(name) != nullptr);
    return name;
}

void write(const std::string &path, const std::string &text) {
    std::ofstream(path) << text;
}

std::string message_of(const std::string &dir) {
    try {
        venv_python(dir);
    } catch (const std::invalid_argument &e) {
        return e.what();
    }
    return "";
}

} // namespace

TEST_CASE("pyvenv.cfg names its Python by version or version_info", "[venv]") {
    CHECK(venv_python_version("home = /usr/bin\nversion = 3.11.2\n") == "3.11");
    CHECK(venv_python_version("version_info = 3.12.1.final.0\nversion = 3.11.2\n") == "3.12");
    CHECK(venv_python_version("  Version   =   3.9.18  \r\n") == "3.9");
    CHECK(venv_python_version("home = /usr/bin\ninclude-system-site-packages = true\n").empty());
}

TEST_CASE("a venv of this Python names its bin/python3", "[venv]") {
    std::string dir = temp_dir();
    REQUIRE(::mkdir((dir + "/bin").c_str(), 0755) == 0);
    write(dir + "/pyvenv.cfg", "home = /usr/bin\nversion = " + ours + ".0\n");
    CHECK(message_of(dir) == "the virtualenv '" + dir + "' has no bin/python3");
    write(dir + "/bin/python3", "");
    REQUIRE(::chmod((dir + "/bin/python3").c_str(), 0755) == 0);
    CHECK(venv_python(dir) == dir + "/bin/python3");
}

TEST_CASE("a missing folder, a folder without pyvenv.cfg and another version are refused",
          "[venv]") {
    std::string dir = temp_dir();
    CHECK(message_of(dir + "/nope") == "the virtualenv folder '" + dir + "/nope' does not exist");
    CHECK(message_of(dir) == "'" + dir + "' is not a virtualenv: it has no pyvenv.cfg");
    write(dir + "/pyvenv.cfg", "version = 2.7.18\n");
    CHECK(message_of(dir)
          == "the virtualenv '" + dir + "' was made by Python 2.7, but the port runs Python "
                 + ours + ": make it with python" + ours + " -m venv");
    write(dir + "/pyvenv.cfg", "home = /usr/bin\n");
    CHECK(message_of(dir) == "'" + dir + "/pyvenv.cfg' names no Python version");
}
