// The erlang_python port program: embeds CPython and serves the coordinator's frames on stdin/stdout.
#include "runtime/cancellation.hpp"
#include "wire/diagnostics.hpp"
#include "runtime/executor_pool.hpp"
#include "wire/frame_io.hpp"
#include "app/interpreter.hpp"
#include "runtime/output_capture.hpp"
#include "runtime/port_runtime.hpp"
#include "wire/protocol_fds.hpp"
#include "terms/term_codec.hpp"
#include "python/venv.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ei.h>
#include <thread>
#include <unistd.h>

#ifndef ERLANG_PYTHON_VERSION
#define ERLANG_PYTHON_VERSION "0.0.0"
#endif

namespace ep = erlang_python;

namespace {

void send_hello(ep::frame_writer &out) {
    ep::term_buffer hello({ep::frame_kind::hello, ep::any_channel, 0});
    ei_x_buff *x = hello.get();
    std::string python = ep::python_interpreter::python_version();
    ep::ei_check(ei_x_encode_tuple_header(x, 3), "hello");
    ep::ei_check(ei_x_encode_long(x, ep::protocol_version), "hello");
    ep::ei_check(ei_x_encode_binary(x, python.data(), int(python.size())), "hello");
    ep::ei_check(ei_x_encode_long(x, long(::getpid())), "hello");
    out.send(hello);
}

// Once stdin has closed nobody reads our replies: requests still running
// get a few seconds, then the process exits even if a thread is stuck in C
// code or a non-daemon Python thread never ends (Py_Finalize waits for it).
void bound_shutdown(int seconds) {
    std::thread([seconds] {
        std::this_thread::sleep_for(std::chrono::seconds(seconds));
        ep::diag("Python threads still running, exiting anyway");
        std::_Exit(0);
    }).detach();
}

} // namespace

int main(int argc, char **argv) {
    ep::options opts;
    try {
        opts = ep::parse_options(argc, argv);
    } catch (const std::invalid_argument &e) {
        std::fprintf(stderr, "erlang_python_port: %s\n\n%s", e.what(), ep::usage());
        return 2;
    }
    if (opts.help) {
        std::fputs(ep::usage(), stdout);
        return 0;
    }
    if (opts.version) {
        std::printf("erlang_python_port %s (protocol %d, Python %s)\n",
                    ERLANG_PYTHON_VERSION,
                    ep::protocol_version,
                    ep::python_interpreter::python_version().c_str());
        return 0;
    }
    if (!opts.check_venv.empty()) {
        // Asked by py_config before the application starts the port.
        try {
            std::printf("%s\n", ep::venv_python(opts.check_venv).c_str());
            return 0;
        } catch (const std::invalid_argument &e) {
            std::fprintf(stderr, "%s\n", e.what());
            return 2;
        }
    }
    std::signal(SIGPIPE, SIG_IGN);
    try {
        ep::die_with_parent();
        ep::keep_diagnostics_fd();
        ep::protocol_fds fds = ep::protect_protocol_fds();
        ep::apply_limits(opts.max_memory, opts.max_cpu_seconds);
        ei_init();
        boost::asio::io_context io;
        ep::frame_writer writer(io, fds.out);
        ep::frame_reader reader(io, fds.in, opts.max_frame);
        ep::runtime().config = opts;
        ep::set_none_atom(opts.none_atom);
        ep::runtime().writer = &writer;
        ep::start_output_capture(writer);

        ep::python_interpreter python(opts);
        {
            pybind11::gil_scoped_release release;
            send_hello(writer);
            ep::executor_pool::sizing sizing{opts.executor_threads,
                                             opts.max_executor_threads,
                                             std::chrono::milliseconds(opts.idle_exit_ms)};
            ep::executor_pool pool(reader, writer, sizing, [] { bound_shutdown(2); });
            ep::runtime().pool = &pool;
            pool.start();
            pool.join();
            ep::runtime().pool = nullptr;
        }
        ep::stop_cancellations();
        // ~python_interpreter finalizes Python here.
    } catch (const std::exception &e) {
        ep::diag("%s", e.what());
        return 1;
    }
    return 0;
}
