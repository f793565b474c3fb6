// Command-line options of the port program.
#include "runtime/options.hpp"

#include "runtime/log_bridge.hpp"

#include <limits>
#include <stdexcept>

namespace erlang_python {
namespace {

std::size_t to_size(const std::string &flag,
                    const std::string &value,
                    std::size_t min,
                    std::size_t max = std::numeric_limits<std::size_t>::max()) {
    std::size_t used = 0;
    unsigned long long n = 0;
    try {
        n = std::stoull(value, &used);
    } catch (const std::exception &) {
        used = 0;
    }
    if (used != value.size() || value.empty() || n < min || n > max) {
        std::string range = max == std::numeric_limits<std::size_t>::max()
                                ? "of at least " + std::to_string(min)
                                : "from " + std::to_string(min) + " to " + std::to_string(max);
        throw std::invalid_argument(flag + " needs a whole number " + range + ", not '" + value
                                    + "'");
    }
    return std::size_t(n);
}

} // namespace

const char *usage() {
    return "usage: erlang_python_port [options]\n"
           "\n"
           "The Python side of the erlang_python OTP application. Erlang starts it as a\n"
           "port and speaks {packet,4} frames of external term format on stdin/stdout;\n"
           "it is not meant to be used by hand.\n"
           "\n"
           "options:\n"
           "  --threads N        executor threads for requests from Erlang (default 8, at most "
           "1024)\n"
           "  --max-threads N    more threads while requests queue, up to N (default 256,\n"
           "                     at most 1024; fewer than --threads means --threads)\n"
           "  --idle-exit MS     such an extra thread exits after MS ms without work (default "
           "30000)\n"
           "  --max-frame BYTES  largest frame accepted or sent (default 1073741824,\n"
           "                     at most 2147479552)\n"
           "  --max-depth N      deepest term nesting converted (default 10000, at most 20000)\n"
           "  --path DIR         prepend DIR to sys.path (repeatable)\n"
           "  --max-memory BYTES limit the address space (RLIMIT_AS)\n"
           "  --max-cpu SECONDS  limit the CPU time (RLIMIT_CPU)\n"
           "  --none-atom ATOM   the atom Python's None becomes: none (default), nil or "
           "undefined\n"
           "  --log-level LEVEL  the OTP logger's primary level (default notice): Python\n"
           "                     logging records below it are not sent\n"
           "  --log-bridge       install erlang.LogHandler on the root logger\n"
           "  --venv DIR         start in the virtualenv DIR (its site-packages,\n"
           "                     sys.prefix and sys.executable)\n"
           "  --check-venv DIR   check that DIR is a virtualenv of this port's Python\n"
           "                     version, print its interpreter and exit (status 2 if not)\n"
           "  --version          print the program, protocol and Python versions\n"
           "  --help             print this text\n";
}

options parse_options(int argc, char **argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                throw std::invalid_argument(a + " needs a value");
            }
            return argv[++i];
        };
        if (a == "--help" || a == "-h") {
            o.help = true;
        } else if (a == "--version") {
            o.version = true;
        } else if (a == "--threads") {
            o.executor_threads = to_size(a, value(), 1, max_executor_threads);
        } else if (a == "--max-threads") {
            o.max_executor_threads = to_size(a, value(), 1, max_executor_threads);
        } else if (a == "--idle-exit") {
            o.idle_exit_ms = to_size(a, value(), 1);
        } else if (a == "--max-frame") {
            o.max_frame = to_size(a, value(), 64, max_frame_limit);
        } else if (a == "--max-depth") {
            o.max_depth = to_size(a, value(), 1, max_depth_limit);
        } else if (a == "--max-memory") {
            o.max_memory = to_size(a, value(), 1 << 20);
        } else if (a == "--max-cpu") {
            o.max_cpu_seconds = to_size(a, value(), 1);
        } else if (a == "--none-atom") {
            o.none_atom = value();
            if (o.none_atom != "none" && o.none_atom != "nil" && o.none_atom != "undefined") {
                throw std::invalid_argument("--none-atom needs none, nil or undefined, not '"
                                            + o.none_atom + "'");
            }
        } else if (a == "--path") {
            o.python_path.push_back(value());
        } else if (a == "--log-level") {
            o.log_level = value();
            python_threshold(o.log_level); // throws std::invalid_argument for a bad name
        } else if (a == "--log-bridge") {
            o.log_bridge = true;
        } else if (a == "--venv") {
            o.venv = value();
            if (o.venv.empty()) {
                throw std::invalid_argument("--venv needs a folder name");
            }
        } else if (a == "--check-venv") {
            o.check_venv = value();
        } else {
            throw std::invalid_argument("unknown option '" + a + "'");
        }
    }
    return o;
}

} // namespace erlang_python
