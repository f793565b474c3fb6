// The embedded native module `_erlang`: erlang.call and erlang.send for any Python thread.
#include "runtime/erlang_module.hpp"

#include "python/native_module.hpp"
#include "python/python_types.hpp"
#include "runtime/cancellation.hpp"
#include "runtime/channel.hpp"
#include "runtime/dispatcher.hpp"
#include "runtime/executor_pool.hpp"
#include "runtime/request_runner.hpp"
#include "terms/term_codec.hpp"

#include <cxxabi.h>
#include <memory>
#include <new>
#include <pybind11/embed.h>
#include <stdexcept>

namespace erlang_python {
namespace {

// Without the GIL: this thread is about to block on Erlang, so it must not
// be the only one that could read the answer.
void ensure_reader(dispatcher &d) {
    if (executor_pool *pool = d.pool()) {
        pool->ensure_reader();
    }
}

// Without the GIL: the next frame for this thread's channel. With the pool
// running, the thread reads the pipe itself while nobody else does.
wake next_frame(dispatcher &d, channel &ch, std::uint64_t since) {
    if (executor_pool *pool = d.pool()) {
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

// Releases the GIL for its lifetime (as py::gil_scoped_release, without
// its internals lookup).
class without_gil {
public:
    without_gil() : state_(PyEval_SaveThread()) {}
    ~without_gil() { PyEval_RestoreThread(state_); }
    without_gil(const without_gil &) = delete;
    without_gil &operator=(const without_gil &) = delete;

private:
    PyThreadState *state_;
};

// Where Value starts in a result body that is exactly {ok, Value} (the
// tuple header and the atom `ok` in any of its encodings); 0 otherwise.
std::size_t ok_value_offset(const char *body, std::size_t size) {
    auto p = reinterpret_cast<const unsigned char *>(body);
    if (size < 8 || p[0] != 131 || p[1] != ERL_SMALL_TUPLE_EXT || p[2] != 2) {
        return 0;
    }
    std::size_t name = 0;
    if ((p[3] == ERL_SMALL_ATOM_UTF8_EXT || p[3] == ERL_SMALL_ATOM_EXT) && p[4] == 2) {
        name = 5;
    } else if ((p[3] == ERL_ATOM_UTF8_EXT || p[3] == ERL_ATOM_EXT) && p[4] == 0 && p[5] == 2) {
        name = 6;
    } else {
        return 0;
    }
    if (p[name] != 'o' || p[name + 1] != 'k' || name + 2 >= size) {
        return 0;
    }
    return name + 2;
}

// Requires the GIL. The Python value of a result frame: Value for {ok, Value};
// raises erlang.ErlangError for {error, {Class, Reason, Text, Stack}}.
py::object answer_value(frame &answer, std::size_t max_depth) {
    char *body = answer.storage.data() + answer.body_offset;
    if (std::size_t at = ok_value_offset(body, answer.body_size)) {
        // Value alone, in place: the byte before it (the atom's last) becomes
        // its version byte. The tuple is one level: Value gets one less.
        const char saved = body[at - 1];
        body[at - 1] = char(131);
        try {
            return decode_term(body + at - 1, answer.body_size - at + 1, max_depth - 1);
        } catch (const term_error &) {
            body[at - 1] = saved; // the whole body again, for the same error text
        }
    }
    py::tuple reply = decode_term(body, answer.body_size, max_depth);
    if (std::string(py::str(reply[0])) == "ok") {
        return reply[1];
    }
    // {error, {Class, Reason, Text, Stack}} from the handler process.
    py::tuple info = reply[1];
    py::object error = types().erlang_error(info[2], info[0], info[1], info[3]);
    PyErr_SetObject(reinterpret_cast<PyObject *>(Py_TYPE(error.ptr())), error.ptr());
    throw py::error_already_set();
}

// Requires the GIL; releases it while waiting. Sends a callback frame (its
// body already in `request`) on the calling thread's channel and waits for
// that channel's frames (reading them itself when nobody else reads).
// Nested requests from the Erlang handler run right here, on this thread.
// Returns the value of {ok, Value}; raises erlang.ErlangError for
// {error, ...}.
py::object
exchange(dispatcher &d, const py::str &name, channel &ch, ref_id ref, term_buffer &request) {
    std::optional<frame> answer;
    wake_reason why = wake_reason::frame;
    {
        without_gil release;
        std::uint64_t since = ch.abort_epoch();
        d.writer().send(request);
        for (;;) {
            wake w = next_frame(d, ch, since);
            why = w.reason;
            if (why != wake_reason::frame) {
                break;
            }
            if (d.serve_while_waiting(*w.received, ref)) {
                answer = std::move(w.received);
                break;
            }
        }
    }
    switch (why) {
        case wake_reason::frame:
            break;
        case wake_reason::interrupted:
            request_scope::cancel_delivered();
            PyErr_SetString(PyExc_TimeoutError, "the request from Erlang timed out");
            throw py::error_already_set();
        case wake_reason::aborted:
            throw_erlang_error(name, "the Erlang handler process of this thread died");
        case wake_reason::closed:
        case wake_reason::lead: // never returned by next_frame
            throw_erlang_error(name, "the port is shutting down");
    }
    return answer_value(*answer, d.config().max_depth + envelope_depth);
}

// The callback frame buffer a thread keeps between its erlang.calls.
struct callback_frames {};
using request_buffer = kept_term_buffer<callback_frames>;

// Requires the GIL; releases it while waiting. Sends a callback frame on
// this thread's channel, its body written by `body(x, max_depth)`, and
// returns the answer (see exchange).
template <class Body>
py::object callback(dispatcher &d, const py::str &name, Body &&body) {
    channel &ch = current_channel();
    ref_id ref = d.next_ref();
    request_buffer request({frame_kind::callback, ch.id(), ref});
    body((*request).get(), d.config().max_depth);
    return exchange(d, name, ch, ref, *request);
}

// erlang.call(name, *args): the callback body is {Name, Args}, Args encoded
// straight from the argument vector.
py::object call(dispatcher &d, const py::str &name, PyObject *const *args, std::size_t count) {
    return callback(d, name, [&](ei_x_buff *x, std::size_t max_depth) {
        ei_check(ei_x_encode_tuple_header(x, 2), "callback");
        encode_term(x, name, max_depth);
        encode_list(x, args, count, max_depth);
    });
}

// What pybind11 said for arguments that do not fit call(name: str, *args);
// erlang.call says the same.
[[noreturn]] void bad_call_arguments(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
    std::string msg = "call(): incompatible function arguments. The following argument types "
                      "are supported:\n    1. (name: str, *args) -> object\n\nInvoked with: ";
    auto repr = [](PyObject *o) -> std::string {
        try {
            return std::string(py::repr(o));
        } catch (const py::error_already_set &) {
            return "<repr raised Error>";
        }
    };
    for (Py_ssize_t i = 0; i < nargs; ++i) {
        msg += (i == 0 ? "" : ", ") + repr(args[i]);
    }
    Py_ssize_t nkw = kwnames == nullptr ? 0 : PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t i = 0; i < nkw; ++i) {
        msg += i == 0 ? (nargs != 0 ? "; kwargs: " : "kwargs: ") : ", ";
        msg += std::string(py::str(PyTuple_GET_ITEM(kwnames, i))) + "=" + repr(args[nargs + i]);
    }
    throw py::type_error(msg);
}

// Runs f(), turning a C++ exception into the Python error pybind11's default
// translator sets for it (the module's other functions go through pybind11;
// none of them registers a translator of its own).
template <class F>
PyObject *python_entry(F &&f) {
    try {
        return f().release().ptr();
    } catch (py::error_already_set &e) {
        e.restore();
#ifdef __GLIBCXX__
    } catch (abi::__forced_unwind &) {
        throw; // thread cancellation unwinds on
#endif
    } catch (const py::builtin_exception &e) {
        e.set_error(); // py::type_error and friends
    } catch (const std::bad_alloc &) {
        PyErr_NoMemory();
    } catch (const std::invalid_argument &e) {
        PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const std::domain_error &e) {
        PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const std::length_error &e) {
        PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const std::out_of_range &e) {
        PyErr_SetString(PyExc_IndexError, e.what());
    } catch (const std::range_error &e) {
        PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const std::overflow_error &e) {
        PyErr_SetString(PyExc_OverflowError, e.what());
    } catch (const std::exception &e) {
        PyErr_SetString(PyExc_RuntimeError, e.what());
    } catch (...) {
        PyErr_SetString(PyExc_SystemError, "unknown C++ exception in erlang.call");
    }
    return nullptr;
}

// erlang.call on the vectorcall protocol (METH_FASTCALL): no argument tuple,
// no list copy, no pybind11 dispatch. The signature stays call(name, *args)
// with `name` also accepted by keyword when it is the only argument. `self`
// is the capsule holding the dispatcher (install_erlang_module).
PyObject *call_entry(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
    return python_entry([&]() -> py::object {
        Py_ssize_t nkw = kwnames == nullptr ? 0 : PyTuple_GET_SIZE(kwnames);
        bool named
            = nkw == 1 && nargs == 0
              && PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, 0), "name") == 0;
        if ((nkw != 0 && !named) || (nargs == 0 && !named) || !PyUnicode_Check(args[0])) {
            bad_call_arguments(args, nargs, kwnames);
        }
        auto name = py::reinterpret_borrow<py::str>(args[0]);
        auto *d = static_cast<dispatcher *>(PyCapsule_GetPointer(self, nullptr));
        if (d == nullptr) {
            throw py::error_already_set();
        }
        return call(*d, name, args + 1, named ? 0 : std::size_t(nargs - 1));
    });
}

PyMethodDef call_def
    = {"call",
       reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&call_entry)),
       METH_FASTCALL | METH_KEYWORDS,
       "call(name: str, *args) -> object\n\n"
       "call(name, *args): run the Erlang function registered as `name` and return its result. "
       "Releases the GIL while waiting; any Python thread may call it.\n"};

// Requires the GIL; releases it while waiting. A built-in request of the
// package, {'$erlang_python', Request, Arg}, served by the thread's handler
// like any callback (py_handler's table of built-ins: new_atom, state,
// whereis). The atom Request exists in the node: py_handler's code names it.
py::object builtin(dispatcher &d, const std::string &request, const py::object &arg) {
    return callback(d, py::str(request), [&](ei_x_buff *x, std::size_t max_depth) {
        ei_check(ei_x_encode_tuple_header(x, 3), "callback");
        ei_check(ei_x_encode_atom(x, builtin_callback_tag), "callback");
        ei_check(ei_x_encode_atom_len(x, request.data(), int(request.size())), "callback");
        encode_term(x, arg, max_depth);
    });
}

// Requires the GIL; releases it to write. Fire and forget.
void send(dispatcher &d, const py::object &pid, const py::object &term) {
    if (!py::isinstance(pid, types().pid)) {
        throw py::type_error("erlang.send: the destination must be an erlang.Pid, not "
                             + std::string(Py_TYPE(pid.ptr())->tp_name));
    }
    channel &ch = current_channel();
    term_buffer message({frame_kind::message, ch.id(), 0});
    ei_x_buff *x = message.get();
    ei_check(ei_x_encode_tuple_header(x, 2), "message");
    encode_term(x, pid, d.config().max_depth);
    encode_term(x, term, d.config().max_depth);
    py::gil_scoped_release release;
    d.writer().send(message);
}

// Requires the GIL; releases it while sleeping. Replaces time.sleep so that
// a request cancelled by Erlang (timeout) stops sleeping at once; elsewhere
// it is the original time.sleep.
void sleep(dispatcher &d, const py::object &real_sleep, const py::object &seconds) {
    request_scope *scope = request_scope::current();
    if (scope == nullptr) {
        real_sleep(seconds);
        return;
    }
    double s = py::float_(seconds);
    if (!(s >= 0)) {
        throw py::value_error("sleep length must be non-negative");
    }
    bool finished = false;
    {
        py::gil_scoped_release release;
        ensure_reader(d);
        finished = scope->interrupt_point().sleep_for(s);
    }
    if (!finished) {
        request_scope::cancel_delivered();
        PyErr_SetString(PyExc_TimeoutError, "the request from Erlang timed out");
        throw py::error_already_set();
    }
}

} // namespace

void install_erlang_module(dispatcher &d) {
    // Its functions hold the dispatcher themselves (a capsule as
    // erlang.call's `self`, captured by the others): no global.
    static PyModuleDef definition{};
    py::module_ m = make_native_module(
        "_erlang",
        "Native half of the `erlang` package: talks to the Erlang node over the port.",
        definition);
    dispatcher *context = &d;
    py::capsule self(static_cast<void *>(context));
    PyObject *call = PyCFunction_NewEx(&call_def, self.ptr(), m.attr("__name__").ptr());
    if (call == nullptr) {
        throw py::error_already_set();
    }
    m.add_object("call", py::reinterpret_steal<py::object>(call));
    m.def(
        "send",
        [context](const py::object &pid, const py::object &term) { send(*context, pid, term); },
        py::arg("pid"),
        py::arg("term"),
        "send(pid, term): send `term` to the Erlang process `pid` (fire and forget).");
    m.def(
        "builtin",
        [context](const std::string &request, const py::object &arg) {
            return builtin(*context, request, arg);
        },
        py::arg("request"),
        py::arg("arg"),
        "builtin(request, arg): a built-in request of the erlang package to the node "
        "(new_atom, state, whereis); use the erlang package's functions.");
    m.def(
        "_reply",
        [context](channel_id channel, ref_id ref, py::handle value, py::handle error) {
            send_late_reply(context->writer(), context->config(), channel, ref, value, error);
        },
        py::arg("channel"),
        py::arg("ref"),
        py::arg("value"),
        py::arg("error"),
        "_reply(channel, ref, value, error): the reply to a request whose coroutine "
        "finished on the event loop (erlang._asyncio).");
    // time.sleep becomes interruptible by a cancel from Erlang.
    py::module_ time = py::module_::import("time");
    py::object real_sleep = time.attr("sleep");
    m.attr("_real_sleep") = real_sleep;
    m.def(
        "sleep",
        [context, real_sleep](const py::object &seconds) { sleep(*context, real_sleep, seconds); },
        py::arg("seconds"),
        "sleep(seconds): time.sleep that a timed-out request from Erlang can interrupt.");
    time.attr("sleep") = m.attr("sleep");
}

} // namespace erlang_python
