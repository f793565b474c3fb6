// How a request from Erlang is answered: its envelope (GIL, cancellation, the one catch, the reply) and the runner functions.
#pragma once

#include "runtime/log_bridge.hpp"
#include "runtime/options.hpp"
#include "wire/frame_codec.hpp"
#include "wire/frame_io.hpp"
#include "wire/term_buffer.hpp"

#include <pybind11/pybind11.h>

namespace erlang_python {

namespace py = pybind11;

// The runner function the dispatcher picked for a request's kind
// (dispatcher.cpp). Requires the GIL.
using request_executor = py::object (*)(void *context, const frame &request);

// Call without the GIL: acquires it to run `execute(context, request)` for a
// kind that owes no reply (role notice: release); an exception is reported
// as unraisable, nothing is written.
void run_notice(const frame &request, request_executor execute, void *context);

// Call without the GIL: acquires it to run `execute(context, request)`,
// releases it to write. Every exception is caught here, once, and becomes an
// error reply on the request's own channel and ref. A coroutine result goes
// to the port's event loop, which replies later (send_late_reply).
void run_request(const frame &request,
                 frame_writer &out,
                 const options &config,
                 request_executor execute,
                 void *context);

// The runner functions, one per request kind. Require the GIL.
// call: the body is {Module, Function, Args, Kwargs}, decoded straight into
// the call's argument vector.
py::object run_call(const frame &request, std::size_t max_depth);
// eval: {Code, Locals}, one expression against __main__.
py::object run_eval(const py::object &body);
// exec: Code, statements run in __main__.
py::object run_exec(const py::object &body);
// Requires the GIL. call_ref: the call's result kept in the handle table.
py::object run_call_ref(const frame &request, std::size_t max_depth);
// Requires the GIL. release: handles' objects dropped (no reply is sent).
py::object run_release(const frame &request);
// Requires the GIL. drop_namespace: a process-bound namespace forgotten.
py::object run_drop_namespace(const py::object &body);
// log_level: the OTP primary level, an atom (log_bridge.hpp).
py::object run_log_level(log_bridge_state &logging, const py::object &level);

// Without the GIL. Answers a request that was cancelled before it ran.
void reply_cancelled(const frame_header &request, frame_writer &out);

// Requires the GIL; releases it to write. The reply to request {channel,
// ref} that finished after run_request returned (a coroutine, run on the
// port's event loop by erlang._asyncio): {ok, Value}, or the error of the
// exception `error` when it is not None.
void send_late_reply(frame_writer &out,
                     const options &config,
                     channel_id channel,
                     ref_id ref,
                     py::handle value,
                     py::handle error);

// Without the GIL. A cancel for a ref no executor runs: if it is a coroutine
// on the event loop, its task is cancelled (CancelledError inside).
void cancel_deferred(ref_id ref);

// Requires the GIL (and a pending Python exception in e). Encodes
// {error, {ClassName, Message, Traceback}} into buf after its version byte.
void encode_python_error(term_buffer &buf, py::error_already_set &e);

} // namespace erlang_python
