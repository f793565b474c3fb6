// Captures fds 1 and 2 (print(), sys.stderr, C extensions) and sends the bytes to Erlang as output frames.
#include "runtime/output_capture.hpp"

#include "wire/diagnostics.hpp"

#include <cerrno>
#include <fcntl.h>
#include <system_error>
#include <thread>
#include <unistd.h>

namespace erlang_python {
namespace {

void forward(int fd, const char *stream, frame_writer &out) {
    char chunk[64 * 1024];
    for (;;) {
        ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        try {
            term_buffer f({frame_kind::output, any_channel, 0});
            ei_x_buff *x = f.get();
            ei_check(ei_x_encode_tuple_header(x, 2), "output");
            ei_check(ei_x_encode_atom(x, stream), "output");
            ei_check(ei_x_encode_binary(x, chunk, int(n)), "output");
            out.send(f);
        } catch (const std::exception &e) {
            diag("output capture stopped: %s", e.what());
            return;
        }
    }
}

void capture(int target, const char *stream, frame_writer &out) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) {
        throw std::system_error(errno, std::generic_category(), "pipe2");
    }
    if (::dup2(p[1], target) < 0) {
        throw std::system_error(errno, std::generic_category(), "dup2");
    }
    ::close(p[1]);
    int read_end = p[0];
    std::thread([read_end, stream, &out] { forward(read_end, stream, out); }).detach();
}

} // namespace

void start_output_capture(frame_writer &out) {
    capture(1, "stdout", out);
    capture(2, "stderr", out);
}

} // namespace erlang_python
