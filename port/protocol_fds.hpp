// Moves the protocol off fds 0 and 1 so that nothing Python prints can corrupt a frame.
#pragma once

namespace erlang_python {

struct protocol_fds {
    int in = -1;
    int out = -1;
};

// dup()s fds 0 and 1 for the protocol, then points fd 0 at /dev/null and
// fd 1 at fd 2 (so print() and C-level writes end up on stderr). Enlarges
// the pipes. Throws std::system_error on failure.
protocol_fds protect_protocol_fds();

} // namespace erlang_python
