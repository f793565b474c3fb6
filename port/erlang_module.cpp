// The embedded native module `_erlang`: erlang.call and erlang.send for any Python thread.
#include "cancellation.hpp"
#include "channel.hpp"
#include "executor_pool.hpp"
#include "port_runtime.hpp"
#include "python_types.hpp"
#include "request_runner.hpp"
#include "term_codec.hpp"

#include <pybind11/embed.h>

namespace erlang_python {
namespace {

// Without the GIL: this thread is about to block on Erlang, so it must not
// be the only one that could read the answer.
void ensure_reader() {
    if (executor_pool *pool = runtime().pool) {
        pool->ensure_reader();
    }
}

// Without the GIL: the next frame for this thread's channel. With the pool
// running, the thread reads the pipe itself while nobody else does.
wake next_frame(channel &ch, std::uint64_t since) {
    if (executor_pool *pool = runtime().pool) {
        return pool->await_frame(ch, since);
    }
    return ch.wait(since);
}

// Requires the GIL. Raises erlang.ErlangError for a call that got no answer.
[[noreturn]] void throw_erlang_error(const py::str &name, const char *why) {
    std::string text = "erlang.call('" + name.cast<std::string>() + "'): " + why;
    py::object error = types().erlang_error(text, py::none(), py::none(), "");
    PyErr_SetObject(reinterpret_cast<PyObject *>(Py_TYPE(error.ptr())), error.ptr());
    throw py::error_already_set();
}

// Requires the GIL; releases it while waiting. Sends a callback frame (its
// body already in `request`) on the calling thread's channel and waits for
// that channel's frames (reading them itself when nobody else reads).
// Nested requests from the Erlang handler run right here, on this thread. Returns the value of {ok, Value}; raises
// erlang.ErlangError for {error, ...}.
py::object exchange(const py::str &name, channel &ch, ref_id ref, term_buffer &request) {
    port_runtime &rt = runtime();
    std::optional<frame> answer;
    wake_reason why = wake_reason::frame;
    {
        py::gil_scoped_release release;
        std::uint64_t since = ch.abort_epoch();
        rt.writer->send(request);
        for (;;) {
            wake w = next_frame(ch, since);
            why = w.reason;
            if (why != wake_reason::frame) {
                break;
            }
            const frame_header &h = w.received->header;
            if (h.kind == frame_kind::result) {
                if (h.ref == ref) {
                    answer = std::move(w.received);
                    break;
                }
                continue; // a stale result: its caller gave up long ago
            }
            if (is_request(h.kind)) {
                run_request(*w.received, *rt.writer);
            }
        }
    }
    switch (why) {
        case wake_reason::frame:
            break;
        case wake_reason::interrupted:
            PyErr_SetString(PyExc_TimeoutError, "the request from Erlang timed out");
            throw py::error_already_set();
        case wake_reason::aborted:
            throw_erlang_error(name, "the Erlang handler process of this thread died");
        case wake_reason::closed:
        case wake_reason::lead: // never returned by next_frame
            throw_erlang_error(name, "the port is shutting down");
    }
    py::tuple reply
        = decode_term(answer->body(), answer->body_size, rt.config.max_depth + envelope_depth);
    if (std::string(py::str(reply[0])) == "ok") {
        return reply[1];
    }
    // {error, {Class, Reason, Text, Stack}} from the handler process.
    py::tuple info = reply[1];
    py::object error = types().erlang_error(info[2], info[0], info[1], info[3]);
    PyErr_SetObject(reinterpret_cast<PyObject *>(Py_TYPE(error.ptr())), error.ptr());
    throw py::error_already_set();
}

// Requires the GIL; releases it while waiting. Sends a callback frame on
// this thread's channel, its body written by `body(x, max_depth)`, and
// returns the answer (see exchange). `what` names the function in errors.
template <class Body>
py::object callback(const char *what, const py::str &name, Body &&body) {
    port_runtime &rt = runtime();
    if (rt.writer == nullptr) {
        throw py::value_error(std::string(what) + " needs the erlang_python port");
    }
    channel &ch = current_channel();
    ref_id ref = rt.next_ref.fetch_add(1);
    term_buffer request({frame_kind::callback, ch.id(), ref});
    body(request.get(), rt.config.max_depth);
    return exchange(name, ch, ref, request);
}

// erlang.call(name, *args): the callback body is {Name, Args}.
py::object call(const py::str &name, const py::args &args) {
    return callback("erlang.call", name, [&](ei_x_buff *x, std::size_t max_depth) {
        ei_check(ei_x_encode_tuple_header(x, 2), "callback");
        encode_term(x, name, max_depth);
        encode_term(x, py::list(args), max_depth);
    });
}

// The built-in callback {'$erlang_python', new_atom, Name}: the handler
// creates the atom (within the max_new_atoms cap) and answers {ok, Atom}.
// The atom in the request exists in the node: py_handler's code names it.
void new_atom(const py::str &name) {
    callback("erlang.new_atom", py::str("new_atom"), [&](ei_x_buff *x, std::size_t max_depth) {
        ei_check(ei_x_encode_tuple_header(x, 3), "callback");
        ei_check(ei_x_encode_atom(x, builtin_callback_tag), "callback");
        ei_check(ei_x_encode_atom(x, "new_atom"), "callback");
        encode_term(x, name, max_depth);
    });
}

// Requires the GIL; releases it to write. Fire and forget.
void send(const py::object &pid, const py::object &term) {
    port_runtime &rt = runtime();
    if (rt.writer == nullptr) {
        throw py::value_error("erlang.send needs the erlang_python port");
    }
    if (!py::isinstance(pid, types().pid)) {
        throw py::type_error("erlang.send: the destination must be an erlang.Pid, not "
                             + std::string(Py_TYPE(pid.ptr())->tp_name));
    }
    channel &ch = current_channel();
    term_buffer message({frame_kind::message, ch.id(), 0});
    ei_x_buff *x = message.get();
    ei_check(ei_x_encode_tuple_header(x, 2), "message");
    encode_term(x, pid, rt.config.max_depth);
    encode_term(x, term, rt.config.max_depth);
    py::gil_scoped_release release;
    rt.writer->send(message);
}

// Requires the GIL; releases it while sleeping. Replaces time.sleep so that
// a request cancelled by Erlang (timeout) stops sleeping at once; elsewhere
// it is the original time.sleep.
void sleep(const py::object &seconds) {
    request_scope *scope = request_scope::current();
    if (scope == nullptr) {
        py::module_::import("_erlang").attr("_real_sleep")(seconds);
        return;
    }
    double s = py::float_(seconds);
    if (!(s >= 0)) {
        throw py::value_error("sleep length must be non-negative");
    }
    bool finished = false;
    {
        py::gil_scoped_release release;
        ensure_reader();
        finished = scope->interrupt_point().sleep_for(s);
    }
    if (!finished) {
        PyErr_SetString(PyExc_TimeoutError, "the request from Erlang timed out");
        throw py::error_already_set();
    }
}

} // namespace
} // namespace erlang_python

PYBIND11_EMBEDDED_MODULE(_erlang, m) {
    m.doc() = "Native half of the `erlang` package: talks to the Erlang node over the port.";
    m.def("call",
          &erlang_python::call,
          pybind11::arg("name"),
          "call(name, *args): run the Erlang function registered as `name` and return its "
          "result. Releases the GIL while waiting; any Python thread may call it.");
    m.def("send",
          &erlang_python::send,
          pybind11::arg("pid"),
          pybind11::arg("term"),
          "send(pid, term): send `term` to the Erlang process `pid` (fire and forget).");
    m.def("new_atom",
          &erlang_python::new_atom,
          pybind11::arg("name"),
          "new_atom(name): create the atom in the Erlang node (capped by max_new_atoms); "
          "use erlang.new_atom, which returns the erlang.Atom.");
    m.def("sleep",
          &erlang_python::sleep,
          pybind11::arg("seconds"),
          "sleep(seconds): time.sleep that a timed-out request from Erlang can interrupt.");
}
