// How a request from Erlang is answered: its envelope (GIL, cancellation, the one catch, the reply) and the runner functions.
#include "runtime/request_runner.hpp"

#include "python/code_cache.hpp"
#include "python/handle_table.hpp"
#include "python/module_lookup.hpp"
#include "runtime/cancellation.hpp"
#include "runtime/gil_jobs.hpp"
#include "runtime/log_bridge.hpp"
#include "terms/term_codec.hpp"
#include "wire/diagnostics.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <string>

namespace erlang_python {
namespace {

// {ok, _}: the bytes ei would write for the tuple header and the atom.
void encode_ok_header(ei_x_buff *x) {
    static const char ok[]
        = {char(ERL_SMALL_TUPLE_EXT), 2, char(ERL_SMALL_ATOM_UTF8_EXT), 2, 'o', 'k'};
    ei_check(ei_x_append_buf(x, ok, int(sizeof ok)), "reply");
}

// The GIL, taken with the thread's own thread state (every thread that runs
// requests has one), and not taken again by a thread that holds it: cheaper
// than pybind11's gil_scoped_acquire, which looks up its internals first.
class gil_hold {
public:
    gil_hold() : state_(PyGILState_Ensure()) {}
    ~gil_hold() { PyGILState_Release(state_); }
    gil_hold(const gil_hold &) = delete;
    gil_hold &operator=(const gil_hold &) = delete;

private:
    PyGILState_STATE state_;
};

// The reply buffer a thread keeps between requests.
struct reply_frames {};
using reply_buffer = kept_term_buffer<reply_frames>;

void encode_error_triple(ei_x_buff *x,
                         const std::string &cls,
                         const std::string &message,
                         const std::string &traceback) {
    ei_check(ei_x_encode_tuple_header(x, 2), "error");
    ei_check(ei_x_encode_atom(x, "error"), "error");
    ei_check(ei_x_encode_tuple_header(x, 3), "error");
    ei_check(ei_x_encode_binary(x, cls.data(), int(cls.size())), "error");
    ei_check(ei_x_encode_binary(x, message.data(), int(message.size())), "error");
    ei_check(ei_x_encode_binary(x, traceback.data(), int(traceback.size())), "error");
}

// Requires the GIL. The UTF-8 bytes of a str. Text that is not valid
// Unicode (a lone surrogate, as Python makes of an undecodable file name)
// keeps its bad characters as \udcff escapes instead of failing the whole
// error report.
std::string utf8_text(const py::handle &text) {
    py::object bytes = py::reinterpret_steal<py::object>(
        PyUnicode_AsEncodedString(text.ptr(), "utf-8", "backslashreplace"));
    if (!bytes) {
        throw py::error_already_set();
    }
    return std::string(PyBytes_AS_STRING(bytes.ptr()), std::size_t(PyBytes_GET_SIZE(bytes.ptr())));
}

// Requires the GIL. The namespace of eval and exec: __main__'s dict. The
// first time, the package `erlang` is bound there as `erlang` (as
// erlang_python does), unless user code has defined that name; nothing
// else is imported into it. Not at start-up: the import costs a bare
// interpreter's start-up time and most ports never eval.
py::dict main_globals() {
    static bool erlang_bound = false;
    py::object main = find_module(py::str("__main__"));
    auto globals = py::reinterpret_borrow<py::dict>(PyModule_GetDict(main.ptr()));
    if (!erlang_bound) {
        if (!globals.contains("erlang")) {
            globals["erlang"] = py::module_::import("erlang");
        }
        erlang_bound = true;
    }
    return globals;
}

// Requires the GIL. The globals of process-bound namespace `id' (made on
// first use by erlang._namespaces, which holds them in a Python dict so that
// they die with the interpreter, not after it).
py::dict namespace_globals(const py::handle &id) {
    return py::module_::import("erlang._namespaces").attr("get")(id);
}

// Requires the GIL. Runs code compiled by the cache as PyRun_String runs what it compiles.
PyObject *run_code(const py::object &code, PyObject *globals, PyObject *locals) {
    if (PySys_Audit("exec", "O", code.ptr()) < 0) {
        return nullptr;
    }
    return PyEval_EvalCode(code.ptr(), globals, locals);
}

// Requires the GIL. Kwargs as the dict to pass, or null for no keywords
// (also for an empty dict); holder keeps a converted one alive.
PyObject *keywords(PyObject *kw, py::object &holder) {
    if (kw == nullptr) {
        return nullptr;
    }
    if (!PyDict_Check(kw)) {
        holder = py::dict(py::reinterpret_borrow<py::object>(kw));
        kw = holder.ptr();
    }
    return PyDict_GET_SIZE(kw) != 0 ? kw : nullptr;
}

py::object call_result(PyObject *result) {
    if (result == nullptr) {
        throw py::error_already_set();
    }
    return py::reinterpret_steal<py::object>(result);
}

// Requires the GIL. A request of another shape than decode_call's usual one
// (atom names, an improper argument list, ...): the arguments are passed
// from the decoded list itself, no tuple is built.
// A fifth element is the caller's namespace: a '__main__' function is
// looked up there first (py:call('__main__', F, A) finds what that Erlang
// process defined with exec).
py::object run_call(const py::tuple &req) {
    if (req.size() != 4 && req.size() != 5) {
        throw py::value_error("call request must be {Module, Function, Args, Kwargs}"
                              " or {Module, Function, Args, Kwargs, NamespaceId}");
    }
    PyObject *items = req.ptr();
    py::object function;
    if (req.size() == 5) {
        function
            = py::module_::import("erlang._namespaces").attr("lookup")(req[4], req[0], req[1]);
    }
    if (!function || function.is_none()) {
        function = find_function(PyTuple_GET_ITEM(items, 0), PyTuple_GET_ITEM(items, 1));
    }
    PyObject *arg_list = PyTuple_GET_ITEM(items, 2);
    py::object args;
    if (PyList_CheckExact(arg_list)) {
        // Out of the collector's sight (gc.get_objects()), so that no Python
        // code can change it under the call. It can be in no reference cycle.
        PyObject_GC_UnTrack(arg_list);
    } else {
        // An argument sequence of another type, converted as tuple(Args) converts it.
        args = py::tuple(py::reinterpret_borrow<py::object>(arg_list));
        arg_list = args.ptr();
    }
    py::object kw_dict;
    PyObject *kw = keywords(PyTuple_GET_ITEM(items, 3), kw_dict);
    PyObject *const *argv = PySequence_Fast_ITEMS(arg_list);
    std::size_t argc = std::size_t(PySequence_Fast_GET_SIZE(arg_list));
    return call_result(PyObject_VectorcallDict(function.ptr(), argv, argc, kw));
}

} // namespace

// The arguments go from the decoder's array straight to the call; no
// keyword dict at all for the usual call without keywords.
py::object run_call(const frame &request, std::size_t max_depth) {
    call_request req;
    decode_call(request.body(), request.body_size, max_depth + envelope_depth, req);
    if (req.other) {
        return run_call(py::tuple(req.other));
    }
    py::object function = find_function(req.module, req.function);
    py::object kw_dict;
    PyObject *kw = keywords(req.kwargs.ptr(), kw_dict);
    if (kw == nullptr) {
        return call_result(PyObject_Vectorcall(
            function.ptr(), req.args(), req.argc() | PY_VECTORCALL_ARGUMENTS_OFFSET, nullptr));
    }
    return call_result(PyObject_VectorcallDict(function.ptr(), req.args(), req.argc(), kw));
}

// Requires the GIL. {Module, Function, Args, Kwargs, Key}: the call's result
// is kept in the handle table under Key and the reply is {ok, none}. A
// coroutine is kept as it is (not run on the event loop).
py::object run_call_ref(const frame &request, std::size_t max_depth) {
    std::size_t depth = max_depth + envelope_depth;
    std::string key = call_ref_key(request.body(), request.body_size, depth);
    py::tuple req(decode_term(request.body(), request.body_size, depth));
    py::tuple call(4);
    for (std::size_t i = 0; i < 4; ++i) {
        call[i] = req[i];
    }
    handle_table::instance().store(key, run_call(call));
    return py::none();
}

// Requires the GIL. [Key, ...], or `all`: the objects of these handles are
// dropped (their finalisers may run here).
py::object run_release(const frame &request) {
    if (is_release_all(request.body(), request.body_size)) {
        handle_table::instance().clear();
    } else {
        for (const std::string &key : handle_keys(request.body(), request.body_size)) {
            handle_table::instance().release(key);
        }
    }
    return py::none();
}

// Requires the GIL. NamespaceId: that process-bound namespace is forgotten.
py::object run_drop_namespace(const py::object &body) {
    return py::module_::import("erlang._namespaces").attr("drop")(body);
}

// Requires the GIL. Code is compiled as one expression against __main__,
// or against the namespace a third element names.
py::object run_eval(const py::object &body) {
    py::tuple req(body);
    if (req.size() != 2 && req.size() != 3) {
        throw py::value_error(
            "eval request must be {Code, Locals} or {Code, Locals, NamespaceId}");
    }
    py::str source(req[0]);
    py::dict locals;
    if (!req[1].is_none()) {
        locals = py::dict(req[1]);
    }
    py::object code = compiled_code(source, Py_eval_input);
    py::dict globals = req.size() == 3 ? namespace_globals(req[2]) : main_globals();
    PyObject *r = run_code(code, globals.ptr(), locals.ptr());
    if (r == nullptr) {
        throw py::error_already_set();
    }
    return py::reinterpret_steal<py::object>(r);
}

// Requires the GIL. Runs statements in __main__ (body Code) or in a
// process-bound namespace (body {Code, NamespaceId}), so their names stay defined.
py::object run_exec(const py::object &body) {
    py::object code_obj = body;
    py::dict globals;
    if (py::isinstance<py::tuple>(body)) {
        py::tuple req(body);
        if (req.size() != 2) {
            throw py::value_error("exec request must be Code or {Code, NamespaceId}");
        }
        code_obj = req[0];
        globals = namespace_globals(req[1]);
    } else {
        globals = main_globals();
    }
    py::str source(code_obj);
    py::object code = compiled_code(source, Py_file_input);
    PyObject *r = run_code(code, globals.ptr(), globals.ptr());
    if (r == nullptr) {
        throw py::error_already_set();
    }
    Py_DECREF(r);
    return py::none();
}

// Requires the GIL. The body is the OTP primary level, an atom.
py::object run_log_level(log_bridge_state &logging, const py::object &level) {
    try {
        apply_log_level(logging, py::str(level).cast<std::string>());
    } catch (const std::invalid_argument &e) {
        throw py::value_error(e.what());
    }
    return py::none();
}

namespace {

// Requires the GIL. A coroutine (what calling an `async def` function
// returns) goes to the port's event loop (erlang._asyncio), whose task
// sends the reply when it finishes: thousands of such calls share one
// thread instead of holding an executor each.
std::atomic<bool> event_loop_used{false};

bool deferred_to_event_loop(const py::object &result, const frame_header &request) {
    if (!PyCoro_CheckExact(result.ptr())) {
        return false;
    }
    event_loop_used = true;
    py::module_::import("erlang._asyncio").attr("submit")(result, request.channel, request.ref);
    return true;
}

} // namespace

void encode_python_error(term_buffer &buf, py::error_already_set &e) {
    std::string cls = "BaseException";
    std::string message;
    std::string traceback;
    try {
        cls = utf8_text(py::str(e.type().attr("__name__")));
        message = utf8_text(py::str(e.value()));
        py::object format = py::module_::import("traceback").attr("format_exception");
        py::object trace = e.trace() ? py::object(e.trace()) : py::object(py::none());
        traceback = utf8_text(py::str("").attr("join")(format(e.type(), e.value(), trace)));
    } catch (const std::exception &) {
        // Formatting the exception failed in turn: send what we have.
        PyErr_Clear();
    }
    buf.reset_term();
    encode_error_triple(buf.get(), cls, message, traceback);
}

void reply_cancelled(const frame_header &request, frame_writer &out) {
    term_buffer reply({frame_kind::reply, request.channel, request.ref});
    encode_error_triple(
        reply.get(), "TimeoutError", "the request was cancelled before it started", "");
    out.send(reply);
}

void run_notice(const frame &request, request_executor execute, void *context) {
    gil_hold gil;
    try {
        execute(context, request);
    } catch (py::error_already_set &e) {
        e.discard_as_unraisable(kind_name(request.header.kind));
    } catch (const std::exception &e) {
        diag("%s: %s", kind_name(request.header.kind), e.what());
    }
}

void run_request(const frame &request,
                 frame_writer &out,
                 const options &config,
                 request_executor execute,
                 void *context) {
    reply_buffer buffer({frame_kind::reply, request.header.channel, request.header.ref});
    term_buffer &reply = *buffer;
    {
        gil_hold gil;
        try {
            request_scope scope(request.header.ref);
            if (scope.cancelled_early()) {
                PyErr_SetString(PyExc_TimeoutError, "the request was cancelled before it started");
                throw py::error_already_set();
            }
            py::object result = execute(context, request);
            if (deferred_to_event_loop(result, request.header)) {
                return;
            }
            encode_ok_header(reply.get());
            encode_term(reply.get(), result, config.max_depth);
        } catch (py::error_already_set &e) {
            encode_python_error(reply, e);
        } catch (const py::builtin_exception &e) {
            // TypeError and friends raised from C++: report them as Python would.
            e.set_error();
            py::error_already_set python_error;
            encode_python_error(reply, python_error);
        } catch (const term_error &e) {
            reply.reset_term();
            encode_error_triple(
                reply.get(), "ValueError", std::string("bad request term: ") + e.what(), "");
        } catch (const std::exception &e) {
            reply.reset_term();
            encode_error_triple(reply.get(), "SystemError", e.what(), "");
        }
        if (reply.size() > config.max_frame) {
            std::string why = "reply of " + std::to_string(reply.size())
                              + " bytes is over the maximum frame size of "
                              + std::to_string(config.max_frame);
            reply.reset_term();
            encode_error_triple(reply.get(), "OverflowError", why, "");
        }
    }
    out.send(reply);
}

namespace {

// On the GIL-job thread: cancels the coroutine of request ref.
void cancel_coroutine(ref_id ref) {
    try {
        py::module_::import("erlang._asyncio").attr("cancel")(ref);
    } catch (py::error_already_set &e) {
        e.discard_as_unraisable("cancelling a coroutine of a timed-out request");
    }
}

} // namespace

void cancel_deferred(ref_id ref) {
    if (!event_loop_used) {
        return;
    }
    // Taking the GIL may wait for a busy thread: not on the reader's time.
    run_with_gil(cancel_coroutine, ref);
}

void send_late_reply(frame_writer &out,
                     const options &config,
                     channel_id channel,
                     ref_id ref,
                     py::handle value,
                     py::handle error) {
    reply_buffer buffer({frame_kind::reply, channel, ref});
    term_buffer &reply = *buffer;
    try {
        if (error.is_none()) {
            encode_ok_header(reply.get());
            encode_term(reply.get(), value, config.max_depth);
        } else {
            PyObject *tb = PyException_GetTraceback(error.ptr()); // new reference or null
            PyErr_Restore(py::type::handle_of(error).inc_ref().ptr(), error.inc_ref().ptr(), tb);
            py::error_already_set e;
            encode_python_error(reply, e);
        }
    } catch (py::error_already_set &e) {
        encode_python_error(reply, e);
    }
    if (reply.size() > config.max_frame) {
        reply.reset_term();
        encode_error_triple(reply.get(), "OverflowError", "reply over the maximum frame size", "");
    }
    py::gil_scoped_release release;
    out.send(reply);
}

} // namespace erlang_python
