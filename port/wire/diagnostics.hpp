// The port's own diagnostics: written to the BEAM's stderr, never into the captured output.
#pragma once

namespace erlang_python {

// Keeps a private copy of fd 2 for diag(); call before fd 2 is redirected.
void keep_diagnostics_fd();

// printf-style; one line, prefixed with the program name. Async-signal-unsafe.
void diag(const char *format, ...) __attribute__((format(printf, 1, 2)));

} // namespace erlang_python
