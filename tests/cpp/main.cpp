// Catch2 runner: one embedded interpreter for every test, with the `erlang` package importable.
#define CATCH_CONFIG_RUNNER
#include "python/python_types.hpp"

#include <catch2/catch.hpp>
#include <ei.h>
#include <pybind11/embed.h>

namespace py = pybind11;

int main(int argc, char *argv[]) {
    ei_init();
    py::scoped_interpreter interpreter;
    py::module_::import("sys").attr("path").attr("insert")(0, EP_PYTHON_SOURCE_DIR);
    erlang_python::load_python_types();
    int result = Catch::Session().run(argc, argv);
    erlang_python::release_python_types();
    return result;
}
