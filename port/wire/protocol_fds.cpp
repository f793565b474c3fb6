// Process set-up before Python starts: protocol fds moved off 0 and 1, parent-death signal, limits.
#include "wire/protocol_fds.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <system_error>
#include <unistd.h>

namespace erlang_python {
namespace {

void check(int rc, const char *what) {
    if (rc < 0) {
        throw std::system_error(errno, std::generic_category(), what);
    }
}

// The largest pipe an unprivileged process may ask for (1 MiB by default),
// capped at 16 MiB; 1 MiB when it cannot be read.
int pipe_size_limit() {
    long size = 0;
    if (std::FILE *f = std::fopen("/proc/sys/fs/pipe-max-size", "r")) {
        if (std::fscanf(f, "%ld", &size) != 1) {
            size = 0;
        }
        std::fclose(f);
    }
    if (size < (1 << 20)) {
        return 1 << 20;
    }
    return int(std::min(size, 16L << 20));
}

void enlarge_pipe(int fd, int size) {
    // Best effort: only pipes have a size, and the system may cap it lower
    // (the per-user pipe limits); then 1 MiB is tried.
    if (::fcntl(fd, F_SETPIPE_SZ, size) < 0 && size > (1 << 20)) {
        (void)::fcntl(fd, F_SETPIPE_SZ, 1 << 20);
    }
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
    int pipe_size = pipe_size_limit();
    enlarge_pipe(fds.in, pipe_size);
    enlarge_pipe(fds.out, pipe_size);
    return fds;
}

void die_with_parent() {
    check(::prctl(PR_SET_PDEATHSIG, SIGKILL), "prctl(PR_SET_PDEATHSIG)");
    if (::getppid() == 1) {
        ::_exit(0); // the parent died before the line above
    }
}

void apply_limits(std::size_t max_memory, std::size_t max_cpu_seconds) {
    if (max_memory != 0) {
        rlimit r{rlim_t(max_memory), rlim_t(max_memory)};
        check(::setrlimit(RLIMIT_AS, &r), "setrlimit(RLIMIT_AS)");
    }
    if (max_cpu_seconds != 0) {
        // SIGXCPU at the soft limit ends the process; the hard limit is a backstop.
        rlimit r{rlim_t(max_cpu_seconds), rlim_t(max_cpu_seconds + 1)};
        check(::setrlimit(RLIMIT_CPU, &r), "setrlimit(RLIMIT_CPU)");
    }
}

} // namespace erlang_python
