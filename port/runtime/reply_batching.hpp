// A reading thread's replies held back in the writer while a batch of requests is buffered, then written in one go.
#pragma once

#include "wire/frame_io.hpp"

namespace erlang_python {

// While further whole frames are already buffered, the leader holds its
// replies back and sends them together once the buffer runs dry (one write
// for the batch, not one per request). A held reply never waits for
// anything but the requests of its batch: the hold ends before the thread
// blocks (reading the pipe, erlang.call, time.sleep through ensure_reader)
// and when it gives the reading up; the watch flushes it meanwhile too.
// The hold is the calling thread's; all three run without the GIL.

// The calling thread's replies are queued in `out` from now on (no-op when
// it holds already).
void hold_replies(frame_writer &out);
// Ends the calling thread's hold, if any, and writes what is queued. A
// failed write means Erlang has gone: the process exits (status 4).
void release_replies(frame_writer &out);
// Any thread: writes what is queued now; a hold stays in place. Exits as
// release_replies does on a failed write.
void flush_replies(frame_writer &out);

} // namespace erlang_python
