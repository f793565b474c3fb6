// Command-line options of the port program.
#pragma once

#include "term_check.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace erlang_python {

struct options {
    std::size_t executor_threads = 8;
    std::size_t max_frame = 1u << 30; // bytes after the length prefix
    std::size_t max_depth = default_max_depth;
    std::vector<std::string> python_path; // prepended to sys.path
    std::size_t max_memory = 0;           // RLIMIT_AS in bytes; 0: no limit
    std::size_t max_cpu_seconds = 0;      // RLIMIT_CPU; 0: no limit
    bool help = false;
    bool version = false;
};

// Throws std::invalid_argument with a message for bad arguments.
options parse_options(int argc, char **argv);

const char *usage();

} // namespace erlang_python
