// Process set-up before Python starts: protocol fds moved off 0 and 1, parent-death signal, limits.
#pragma once

#include <cstddef>

namespace erlang_python {

struct protocol_fds {
    int in = -1;
    int out = -1;
};

// dup()s fds 0 and 1 for the protocol, then points fd 0 at /dev/null and
// fd 1 at fd 2 (so print() and C-level writes end up on stderr). Enlarges
// the pipes. Throws std::system_error on failure.
protocol_fds protect_protocol_fds();

// Dies with the process that started it (the BEAM's spawner), even when
// that one is killed with SIGKILL and never closes our stdin.
void die_with_parent();

// Applies the optional RLIMIT_AS / RLIMIT_CPU limits (0: leave as is).
void apply_limits(std::size_t max_memory, std::size_t max_cpu_seconds);

} // namespace erlang_python
