// Moves the protocol off fds 0 and 1 so that nothing Python prints can corrupt a frame.
#include "protocol_fds.hpp"

#include <cerrno>
#include <fcntl.h>
#include <system_error>
#include <unistd.h>

namespace erlang_python {
namespace {

void check(int rc, const char *what) {
    if (rc < 0) {
        throw std::system_error(errno, std::generic_category(), what);
    }
}

void enlarge_pipe(int fd) {
    // Best effort: only pipes have a size, and the system may cap it.
    (void)::fcntl(fd, F_SETPIPE_SZ, 1 << 20);
}

} // namespace

protocol_fds protect_protocol_fds() {
    protocol_fds fds;
    fds.in = ::fcntl(0, F_DUPFD_CLOEXEC, 3);
    check(fds.in, "dup(0)");
    fds.out = ::fcntl(1, F_DUPFD_CLOEXEC, 3);
    check(fds.out, "dup(1)");
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    check(null, "open(/dev/null)");
    check(::dup2(null, 0), "dup2(/dev/null, 0)");
    ::close(null);
    check(::dup2(2, 1), "dup2(2, 1)");
    enlarge_pipe(fds.in);
    enlarge_pipe(fds.out);
    return fds;
}

} // namespace erlang_python
