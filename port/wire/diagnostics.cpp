// The port's own diagnostics: written to the BEAM's stderr, never into the captured output.
#include "wire/diagnostics.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <fcntl.h>
#include <unistd.h>

namespace erlang_python {
namespace {
int diag_fd = 2;
}

void keep_diagnostics_fd() {
    int fd = ::fcntl(2, F_DUPFD_CLOEXEC, 3);
    if (fd >= 0) {
        diag_fd = fd;
    }
}

void diag(const char *format, ...) {
    char line[1024];
    int n = std::snprintf(line, sizeof line, "erlang_python_port[%d]: ", int(::getpid()));
    va_list args;
    va_start(args, format);
    int m = std::vsnprintf(line + n, sizeof line - std::size_t(n) - 1, format, args);
    va_end(args);
    std::size_t room = sizeof line - std::size_t(n) - 2; // keep space for '\n'
    std::size_t len = std::size_t(n) + (m < 0 ? 0 : std::min(std::size_t(m), room));
    line[len++] = '\n';
    (void)!::write(diag_fd, line, len);
}

} // namespace erlang_python
