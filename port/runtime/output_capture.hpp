// Captures fds 1 and 2 (print(), sys.stderr, C extensions) and sends the bytes to Erlang as output frames.
#pragma once

#include "wire/frame_io.hpp"

namespace erlang_python {

// Points fds 1 and 2 at pipes and starts one thread per pipe that forwards
// what arrives, in chunks of up to 64 KiB, as `output` frames
// {stdout | stderr, Bytes}. The threads never touch Python; they end when
// the process exits. Call after the protocol fds are protected and
// keep_diagnostics_fd() has run.
void start_output_capture(frame_writer &out);

} // namespace erlang_python
