// Python logging records into the OTP logger: level mapping, the level threshold, `log` frames.
#include "runtime/log_bridge.hpp"

#include "runtime/port_runtime.hpp"

#include <cmath>
#include <pybind11/embed.h>
#include <stdexcept>

namespace erlang_python {
namespace {

namespace py = pybind11;

struct level_row {
    const char *name;
    long lowest; // the lowest Python levelno logged at this OTP level
};

// Most severe first; otp_level takes the first row whose `lowest` the
// record reaches.
constexpr level_row levels[] = {
    {"emergency", 70},
    {"alert", 60},
    {"critical", 50},
    {"error", 40},
    {"warning", 30},
    {"notice", 25},
    {"info", 20},
    {"debug", LONG_MIN},
};

// Requires the GIL. The text of a str (anything else through str()), as
// UTF-8 with lone surrogates escaped, so any Python string can be sent.
std::string utf8(const py::handle &value) {
    py::object text = py::isinstance<py::str>(value) ? py::reinterpret_borrow<py::object>(value)
                                                     : py::object(py::str(value));
    PyObject *bytes = PyUnicode_AsEncodedString(text.ptr(), "utf-8", "backslashreplace");
    if (bytes == nullptr) {
        throw py::error_already_set();
    }
    py::object owned = py::reinterpret_steal<py::object>(bytes);
    return std::string(PyBytes_AS_STRING(bytes), std::size_t(PyBytes_GET_SIZE(bytes)));
}

void encode_text(ei_x_buff *x, const char *key, const std::string &value) {
    ei_check(ei_x_encode_atom(x, key), "log");
    ei_check(ei_x_encode_binary(x, value.data(), int(value.size())), "log");
}

void encode_integer(ei_x_buff *x, const char *key, long long value) {
    ei_check(ei_x_encode_atom(x, key), "log");
    ei_check(ei_x_encode_longlong(x, value), "log");
}

// Requires the GIL; releases it to write. Fire and forget: the frame goes
// to the coordinator, which hands it to a process that logs it, so a slow
// logger never holds this thread (only a full pipe would, as for
// erlang.send). False, and nothing sent, in a forked child of the port.
bool emit(long levelno,
          const py::handle &message,
          const py::handle &logger,
          const py::handle &file,
          long line,
          const py::handle &thread,
          const py::handle &exception,
          double created) {
    port_runtime &rt = runtime();
    if (rt.writer == nullptr) {
        throw py::value_error("erlang.LogHandler needs the erlang_python port");
    }
    if (::getpid() != rt.logging.owner) {
        return false;
    }
    term_buffer frame({frame_kind::log, any_channel, 0});
    ei_x_buff *x = frame.get();
    const bool has_exception = !exception.is_none();
    ei_check(ei_x_encode_tuple_header(x, 3), "log");
    ei_check(ei_x_encode_atom(x, otp_level(levelno)), "log");
    std::string text = utf8(message);
    ei_check(ei_x_encode_binary(x, text.data(), int(text.size())), "log");
    ei_check(ei_x_encode_map_header(x, has_exception ? 7 : 6), "log");
    encode_text(x, "python_logger", utf8(logger));
    encode_text(x, "file", utf8(file));
    encode_integer(x, "line", line);
    encode_text(x, "thread", thread.is_none() ? std::string() : utf8(thread));
    // logger's own `time` metadata: when Python made the record, in µs.
    encode_integer(x, "time", std::llround(created * 1e6));
    encode_integer(x, "python_level", levelno);
    if (has_exception) {
        encode_text(x, "exception", utf8(exception));
    }
    py::gil_scoped_release release;
    rt.writer->send(frame);
    rt.logging.sent.fetch_add(1, std::memory_order_relaxed);
    return true;
}

} // namespace

const char *otp_level(long levelno) {
    for (const level_row &row : levels) {
        if (levelno >= row.lowest) {
            return row.name;
        }
    }
    return "debug";
}

long python_threshold(const std::string &name) {
    if (name == "all") {
        return LONG_MIN;
    }
    if (name == "none") {
        return log_bridge_state::nothing;
    }
    for (const level_row &row : levels) {
        if (name == row.name) {
            return row.lowest;
        }
    }
    throw std::invalid_argument("'" + name + "' is not an OTP logger level");
}

void apply_log_level(log_bridge_state &state, const std::string &level) {
    long threshold = python_threshold(level);
    state.threshold.store(threshold);
    py::dict modules = py::module_::import("sys").attr("modules");
    if (modules.contains("erlang._logging")) {
        modules["erlang._logging"].attr("_threshold_changed")(threshold);
    }
}

} // namespace erlang_python

// Imported by python/erlang/_logging.py only: erlang.LogHandler's native half.
PYBIND11_EMBEDDED_MODULE(_erlang_log, m) {
    namespace py = pybind11;
    using erlang_python::runtime;
    m.doc() = "Native half of erlang.LogHandler: sends logging records to the OTP logger.";
    m.def(
        "enabled",
        [](long levelno) { return runtime().logging.enabled(levelno); },
        py::arg("levelno"),
        "enabled(levelno): whether a record of this level reaches the OTP primary level; "
        "a record that does not is counted as dropped.");
    m.def(
        "threshold",
        [] { return runtime().logging.threshold.load(); },
        "threshold(): the lowest levelno the OTP primary level lets through.");
    m.def("emit",
          &erlang_python::emit,
          py::arg("levelno"),
          py::arg("message"),
          py::arg("logger"),
          py::arg("file"),
          py::arg("line"),
          py::arg("thread"),
          py::arg("exception"),
          py::arg("created"),
          "emit(...): send one record to the OTP logger (fire and forget); False in a "
          "forked child of the port, which must not write to its protocol pipe.");
}
