// The dispatcher: runs each request from Erlang (call, eval, exec, stats, log_level), replies.
#pragma once

#include "wire/frame_codec.hpp"
#include "wire/frame_io.hpp"

#include <pybind11/pybind11.h>

namespace erlang_python {

namespace py = pybind11;

// Call without the GIL: acquires it to run Python, releases it to write.
// Every exception is caught here, once, and becomes an error reply on the
// request's own channel and ref.
void run_request(const frame &request, frame_writer &out);

// Without the GIL. Answers a request that was cancelled before it ran.
void reply_cancelled(const frame_header &request, frame_writer &out);

// Requires the GIL; releases it to write. The reply to request {channel,
// ref} that finished after run_request returned (a coroutine, run on the
// port's event loop by erlang._asyncio): {ok, Value}, or the error of the
// exception `error` when it is not None.
void send_late_reply(channel_id channel, ref_id ref, py::handle value, py::handle error);

// Without the GIL. A cancel for a ref no executor runs: if it is a coroutine
// on the event loop, its task is cancelled (CancelledError inside).
void cancel_deferred(ref_id ref);

// Requires the GIL (and a pending Python exception in e). Encodes
// {error, {ClassName, Message, Traceback}} into buf after its version byte.
void encode_python_error(term_buffer &buf, py::error_already_set &e);

} // namespace erlang_python
