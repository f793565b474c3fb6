// Command-line options of the port program.
#pragma once

#include "terms/term_check.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace erlang_python {

// erl_interface sizes and offsets are C ints: frames stay below 2 GiB
// (2 GiB - 4 KiB, the limit py_config applies to max_frame_size).
constexpr std::size_t max_frame_limit = 2147479552;
// Conversion recurses once per level, about 180 bytes of stack each: 20,000
// levels leave half of an 8 MiB thread stack unused (40,000 was the most
// that fit, measured on x86-64).
constexpr std::size_t max_depth_limit = 20000;

// The application's executor_threads allows the same.
constexpr std::size_t max_executor_threads = 1024;

struct options {
    std::size_t executor_threads = 8;       // threads that stay
    std::size_t max_executor_threads = 256; // threads at most, while requests queue
    std::size_t idle_exit_ms = 30000;       // a thread beyond the base idle this long exits
    std::size_t max_frame = 1u << 30;       // bytes after the length prefix
    std::size_t max_depth = default_max_depth;
    std::vector<std::string> python_path; // prepended to sys.path
    std::size_t max_memory = 0;           // RLIMIT_AS in bytes; 0: no limit
    std::size_t max_cpu_seconds = 0;      // RLIMIT_CPU; 0: no limit
    std::string none_atom = "none";       // the atom None becomes: none, nil or undefined
    std::string log_level = "notice";     // the OTP primary level (log_bridge.hpp)
    bool log_bridge = false;              // erlang.LogHandler on the root logger
    std::string venv;                     // a virtualenv folder to start in; empty: none
    std::string check_venv;               // --check-venv: only check this folder and exit
    bool help = false;
    bool version = false;
};

// Throws std::invalid_argument with a message for bad arguments.
options parse_options(int argc, char **argv);

const char *usage();

} // namespace erlang_python
