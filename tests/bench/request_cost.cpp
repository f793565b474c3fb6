// The port's CPU per request without pipes or Erlang: run_request on one thread, replies to /dev/null.
//
//   request_cost <priv/python dir> [iterations]
//
// Runs py:call(operator, add, [1, 2]), py:eval(<<"1+1">>) and
// py:exec(<<"x = 1">>) requests, built as Erlang sends them, and prints the
// median over 9 batches of the thread CPU time (CLOCK_THREAD_CPUTIME_ID)
// per request in ns: the part of a round trip that is the port's own work
// after the frame is read and before the reply is written.
#include "wire/frame_io.hpp"
#include "app/interpreter.hpp"
#include "runtime/port_runtime.hpp"
#include "runtime/request_runner.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <ei.h>
#include <fcntl.h>
#include <string>
#include <vector>

namespace ep = erlang_python;

namespace {

// A frame of `kind` whose body `body(x)` writes (after the version byte).
template <class Body>
ep::frame make_frame(ep::frame_kind kind, Body &&body) {
    ei_x_buff x;
    ei_x_new_with_version(&x);
    body(&x);
    ep::frame f;
    f.header = {kind, ep::any_channel, 1};
    f.storage = ep::byte_buffer(x.buff, std::size_t(x.index));
    f.body_offset = 0;
    f.body_size = std::size_t(x.index);
    ei_x_free(&x);
    return f;
}

// {<<"operator">>, <<"add">>, [1, 2], #{}}, the list as STRING_EXT like term_to_binary.
ep::frame call_frame() {
    return make_frame(ep::frame_kind::call, [](ei_x_buff *x) {
        ei_x_encode_tuple_header(x, 4);
        ei_x_encode_binary(x, "operator", 8);
        ei_x_encode_binary(x, "add", 3);
        ei_x_encode_string_len(x, "\1\2", 2);
        ei_x_encode_map_header(x, 0);
    });
}

// {<<"1+1">>, none}
ep::frame eval_frame() {
    return make_frame(ep::frame_kind::eval, [](ei_x_buff *x) {
        ei_x_encode_tuple_header(x, 2);
        ei_x_encode_binary(x, "1+1", 3);
        ei_x_encode_atom(x, "none");
    });
}

// <<"x = 1">>
ep::frame exec_frame() {
    return make_frame(ep::frame_kind::exec,
                      [](ei_x_buff *x) { ei_x_encode_binary(x, "x = 1", 5); });
}

double thread_ns() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) * 1e9 + double(t.tv_nsec);
}

double cost(const char *name, const ep::frame &f, ep::frame_writer &out, int n) {
    for (int i = 0; i < n / 10; ++i) {
        ep::run_request(f, out);
    }
    std::vector<double> batches;
    for (int b = 0; b < 9; ++b) {
        double t0 = thread_ns();
        for (int i = 0; i < n; ++i) {
            ep::run_request(f, out);
        }
        batches.push_back((thread_ns() - t0) / n);
    }
    std::sort(batches.begin(), batches.end());
    std::printf("%-5s %8.0f ns per request (batches %.0f..%.0f)\n",
                name, batches[4], batches.front(), batches.back());
    return batches[4];
}

} // namespace

int main(int argc, char **argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: request_cost <priv/python dir> [iterations]\n");
        return 2;
    }
    int n = argc > 2 ? std::atoi(argv[2]) : 20000;
    ei_init();
    boost::asio::io_context io;
    int null_fd = ::open("/dev/null", O_WRONLY);
    ep::frame_writer writer(io, null_fd);
    ep::options opts;
    opts.python_path.push_back(argv[1]);
    ep::runtime().config = opts;
    ep::runtime().writer = &writer;
    ep::python_interpreter python(opts);
    {
        pybind11::gil_scoped_release release;
        cost("call", call_frame(), writer, n);
        cost("eval", eval_frame(), writer, n);
        cost("exec", exec_frame(), writer, n);
    }
    return 0;
}
