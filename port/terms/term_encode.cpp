// Python -> ETF: the encoding half of the term codec (term_codec.hpp is the entry point).
#include "python/python_types.hpp"
#include "terms/stack_guard.hpp"
#include "terms/term_codec.hpp"
#include "wire/huge_pages.hpp"
#include "wire/term_buffer.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace erlang_python {
namespace {

// ---- Python -> ETF -------------------------------------------------------

// name is valid UTF-8 of at most 255 characters: written as ei writes it
// (SMALL_ATOM_UTF8_EXT, or ATOM_UTF8_EXT past 255 bytes) without ei's
// re-encoding pass.
void encode_atom(ei_x_buff *x, const char *name, std::size_t len) {
    if (len <= 255) {
        char head[2] = {char(ERL_SMALL_ATOM_UTF8_EXT), char(len)};
        ei_check(ei_x_append_buf(x, head, 2), "atom");
    } else {
        char head[3] = {char(ERL_ATOM_UTF8_EXT), char(len >> 8), char(len & 0xff)};
        ei_check(ei_x_append_buf(x, head, 3), "atom");
    }
    ei_check(ei_x_append_buf(x, name, int(len)), "atom");
}

// The bytes ei_x_encode_longlong writes (SMALL_INTEGER_EXT, INTEGER_EXT or
// a SMALL_BIG_EXT), the first two in one append and no sizing pass.
void encode_longlong(ei_x_buff *x, long long v) {
    if (v >= 0 && v <= 255) {
        char b[2] = {char(ERL_SMALL_INTEGER_EXT), char(v)};
        ei_check(ei_x_append_buf(x, b, 2), "integer");
    } else if (v >= -(1LL << 27) && v < (1LL << 27)) { // ei's own INTEGER_EXT range
        auto u = static_cast<std::uint32_t>(v);
        char b[5] = {char(ERL_INTEGER_EXT), char(u >> 24), char(u >> 16), char(u >> 8), char(u)};
        ei_check(ei_x_append_buf(x, b, 5), "integer");
    } else {
        ei_check(ei_x_encode_longlong(x, v), "integer");
    }
}

void encode_binary(ei_x_buff *x, const char *data, std::size_t len) {
    if (len > 0x7fffffffu) {
        throw py::value_error("binary larger than 2 GiB");
    }
    reserve_huge(x, 5 + len); // BINARY_EXT's header, then the bytes
    ei_check(ei_x_encode_binary(x, data, int(len)), "binary");
}

void encode_int(ei_x_buff *x, PyObject *o) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow == 0) {
        if (v == -1 && PyErr_Occurred()) {
            throw py::error_already_set();
        }
        encode_longlong(x, v);
        return;
    }
    // A bignum: sign byte and little-endian magnitude, as SMALL_BIG_EXT or
    // LARGE_BIG_EXT. The bytes come from int.to_bytes (public API; bignums
    // are off the hot path).
    py::object magnitude = py::reinterpret_steal<py::object>(PyNumber_Absolute(o));
    if (!magnitude) {
        throw py::error_already_set();
    }
    std::size_t bits = magnitude.attr("bit_length")().cast<std::size_t>();
    std::size_t n = (bits + 7) / 8;
    py::object digits = magnitude.attr("to_bytes")(n, "little");
    char head[6];
    std::size_t h = 0;
    if (n < 256) {
        head[h++] = char(ERL_SMALL_BIG_EXT);
        head[h++] = char(n);
    } else {
        head[h++] = char(ERL_LARGE_BIG_EXT);
        head[h++] = char(n >> 24);
        head[h++] = char(n >> 16);
        head[h++] = char(n >> 8);
        head[h++] = char(n);
    }
    head[h++] = overflow < 0 ? 1 : 0;
    ei_check(ei_x_append_buf(x, head, int(h)), "integer");
    ei_check(ei_x_append_buf(x, PyBytes_AS_STRING(digits.ptr()), int(n)), "integer");
}

void encode_float(ei_x_buff *x, double d) {
    if (std::isnan(d)) {
        encode_atom(x, "nan", 3);
    } else if (std::isinf(d)) {
        d > 0 ? encode_atom(x, "infinity", 8) : encode_atom(x, "neg_infinity", 12);
    } else {
        ei_check(ei_x_encode_double(x, d), "float");
    }
}

void encode_str(ei_x_buff *x, PyObject *o, bool as_atom) {
    Py_ssize_t len = 0;
    const char *utf8 = PyUnicode_AsUTF8AndSize(o, &len);
    if (utf8 == nullptr) {
        throw py::error_already_set();
    }
    if (!as_atom) {
        encode_binary(x, utf8, std::size_t(len));
        return;
    }
    if (PyUnicode_GET_LENGTH(o) > 255) {
        throw py::value_error("an atom has at most 255 characters");
    }
    encode_atom(x, utf8, std::size_t(len));
}

// The atom None becomes (set_none_atom): read by every conversion, written
// once before the first.
std::string none_atom = "none";

// Requires the GIL. Python's own error for a container changed under iteration.
[[noreturn]] void changed_size(const char *what) {
    PyErr_Format(PyExc_RuntimeError, "%s changed size while it was converted", what);
    throw py::error_already_set();
}

// The exact ETF bytes of a pid, reference, port, fun or bitstring that came
// from Erlang. Checked, since Python code can build these wrappers from any
// bytes: a wrong one is an error here, not an undecodable reply.
void append_raw(ei_x_buff *x, py::handle obj, const char *kind, const char *tags) {
    py::object etf_attr = obj.attr("etf");
    if (!PyBytes_Check(etf_attr.ptr())) {
        throw py::type_error(std::string("erlang.") + kind + ".etf must be bytes");
    }
    char *data = nullptr;
    Py_ssize_t len = 0;
    PyBytes_AsStringAndSize(etf_attr.ptr(), &data, &len);
    std::string versioned(1, char(131));
    versioned.append(data, std::size_t(len));
    if (len == 0 || std::strchr(tags, data[0]) == nullptr
        || !check_term(versioned.data(), versioned.size()).ok) {
        throw py::value_error(std::string("erlang.") + kind
                              + " does not hold the external format of one Erlang term of its "
                                "kind");
    }
    ei_check(ei_x_append_buf(x, data, int(len)), "opaque term");
}

class encoder {
public:
    encoder(ei_x_buff *x, std::size_t max_depth) : x_(x), max_depth_(max_depth) {}

    // The exact built-in types first, by pointer comparison: most values
    // never reach the slow path where subclasses, hooks and numpy are looked at.
    void term(py::handle obj, std::size_t depth) {
        if (depth > max_depth_) {
            throw py::value_error("value nested deeper than " + std::to_string(max_depth_)
                                  + " levels (or it contains itself)");
        }
        // Every 8 levels (a few KiB of stack, well inside the reserve): a
        // thread with a small stack may run out before the depth limit.
        if ((depth & 7) == 0 && stack_nearly_exhausted()) {
            throw py::value_error("value nested too deep for this thread's stack ("
                                  + std::to_string(depth) + " levels)");
        }
        keep_room(x_, 64); // geometric growth (term_buffer.hpp)
        PyObject *o = obj.ptr();
        PyTypeObject *type = Py_TYPE(o);
        if (type == &PyUnicode_Type) {
            encode_str(x_, o, false);
        } else if (type == &PyLong_Type) {
            encode_int(x_, o);
        } else if (type == &PyFloat_Type) {
            encode_float(x_, PyFloat_AS_DOUBLE(o));
        } else if (type == &PyList_Type) {
            list(o, depth);
        } else if (type == &PyTuple_Type) {
            tuple(o, depth);
        } else if (type == &PyDict_Type) {
            dict(o, depth);
        } else if (o == Py_None) {
            encode_atom(x_, none_atom.data(), none_atom.size());
        } else if (o == Py_True) {
            encode_atom(x_, "true", 4);
        } else if (o == Py_False) {
            encode_atom(x_, "false", 5);
        } else if (type == &PyBytes_Type) {
            encode_binary(x_, PyBytes_AS_STRING(o), std::size_t(PyBytes_GET_SIZE(o)));
        } else {
            slow(obj, depth);
        }
    }

private:
    void list(PyObject *o, std::size_t depth) {
        Py_ssize_t n = PyList_GET_SIZE(o);
        if (n > 0) {
            ei_check(ei_x_encode_list_header(x_, long(n)), "list");
            // A hook (Python code) may change the list while an item converts:
            // the size is re-read, and an item that may run one is held.
            for (Py_ssize_t i = 0; i < n && i < PyList_GET_SIZE(o); ++i) {
                PyObject *item = PyList_GET_ITEM(o, i);
                PyTypeObject *type = Py_TYPE(item);
                if (type == &PyLong_Type || type == &PyUnicode_Type || type == &PyFloat_Type) {
                    term(item, depth + 1);
                } else {
                    term(py::reinterpret_borrow<py::object>(item), depth + 1);
                }
            }
            if (PyList_GET_SIZE(o) < n) {
                changed_size("list");
            }
        }
        ei_check(ei_x_encode_empty_list(x_), "list");
    }

public:
    // The list of `n` objects the caller holds, encoded as list() would a
    // Python list of them, at `depth`.
    void list(PyObject *const *items, std::size_t n, std::size_t depth) {
        if (n > 0) {
            ei_check(ei_x_encode_list_header(x_, long(n)), "list");
            for (std::size_t i = 0; i < n; ++i) {
                term(items[i], depth + 1);
            }
        }
        ei_check(ei_x_encode_empty_list(x_), "list");
    }

private:
    void tuple(PyObject *o, std::size_t depth) {
        Py_ssize_t n = PyTuple_GET_SIZE(o);
        ei_check(ei_x_encode_tuple_header(x_, long(n)), "tuple");
        for (Py_ssize_t i = 0; i < n; ++i) {
            term(PyTuple_GET_ITEM(o, i), depth + 1);
        }
    }

    void dict(PyObject *o, std::size_t depth) {
        Py_ssize_t n = PyDict_GET_SIZE(o);
        ei_check(ei_x_encode_map_header(x_, long(n)), "map");
        Py_ssize_t pos = 0;
        PyObject *key = nullptr;
        PyObject *value = nullptr;
        Py_ssize_t done = 0;
        while (PyDict_Next(o, &pos, &key, &value)) {
            // Borrowed from the dict: keep them alive while a hook runs.
            py::object k = py::reinterpret_borrow<py::object>(key);
            py::object v = py::reinterpret_borrow<py::object>(value);
            term(k, depth + 1);
            term(v, depth + 1);
            ++done;
        }
        if (done != n || PyDict_GET_SIZE(o) != n) {
            changed_size("dict");
        }
    }

    // A list made from any other iterable: a set, a dict view, a range.
    void materialized(PyObject *o, std::size_t depth, bool sort) {
        py::object items = py::reinterpret_steal<py::object>(PySequence_List(o));
        if (!items) {
            throw py::error_already_set();
        }
        // Sets sort when their items can be ordered, so equal sets give equal lists.
        if (sort && PyList_Sort(items.ptr()) != 0) {
            if (!PyErr_ExceptionMatches(PyExc_TypeError)) {
                throw py::error_already_set();
            }
            PyErr_Clear();
        }
        list(items.ptr(), depth);
    }

    // Requires the GIL. Calls a hook and encodes what it returns, one level deeper
    // (so a hook that returns its own argument ends at the depth limit).
    void hooked(PyObject *result, std::size_t depth) {
        if (result == nullptr) {
            throw py::error_already_set();
        }
        py::object r = py::reinterpret_steal<py::object>(result);
        term(r, depth + 1);
    }

    // Whether the class or a base defines the method `hook` in its own
    // namespace: what type lookup finds (a metaclass attribute does not
    // count), read from the documented tp_mro and tp_dict fields.
    static bool has_erlang_hook(PyTypeObject *type, PyObject *hook) {
        PyObject *mro = type->tp_mro;
        if (mro == nullptr) {
            return false;
        }
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(mro); ++i) {
            PyObject *dict = reinterpret_cast<PyTypeObject *>(PyTuple_GET_ITEM(mro, i))->tp_dict;
            if (dict != nullptr && PyDict_GetItemWithError(dict, hook) != nullptr) {
                return true;
            }
            if (PyErr_Occurred()) {
                throw py::error_already_set();
            }
        }
        return false;
    }

    // The erlang.register_encoder entry for the class or its nearest base.
    static py::object registered_encoder(PyTypeObject *type) {
        PyObject *encoders = types().encoders.ptr();
        if (PyDict_GET_SIZE(encoders) == 0 || type->tp_mro == nullptr) {
            return py::object();
        }
        PyObject *mro = type->tp_mro;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(mro); ++i) {
            PyObject *fn = PyDict_GetItemWithError(encoders, PyTuple_GET_ITEM(mro, i));
            if (fn != nullptr) {
                return py::reinterpret_borrow<py::object>(fn);
            }
            if (PyErr_Occurred()) {
                throw py::error_already_set();
            }
        }
        return py::object();
    }

    void slow(py::handle obj, std::size_t depth) {
        PyObject *o = obj.ptr();
        PyTypeObject *type = Py_TYPE(o);
        const python_types &t = types();
        // The package's own types.
        if (is(o, t.atom)) {
            encode_str(x_, o, true);
            return;
        }
        if (is(o, t.pid)) {
            append_raw(x_, obj, "Pid", "gX");
            return;
        }
        if (is(o, t.ref)) {
            append_raw(x_, obj, "Ref", "erZ");
            return;
        }
        if (is(o, t.opaque)) {
            append_raw(x_, obj, "OpaqueTerm", "fYxpqM");
            return;
        }
        if (is(o, t.improper_list)) {
            improper_list(obj, depth);
            return;
        }
        if (is(o, t.frozen_list)) {
            tuple_as_list(obj.attr("items"), depth);
            return;
        }
        if (is(o, t.frozen_dict)) {
            py::object items = obj.attr("_items");
            dict(items.ptr(), depth);
            return;
        }
        // Hooks: a registered encoder, then a __erlang__ method.
        if (py::object fn = registered_encoder(type)) {
            hooked(PyObject_CallOneArg(fn.ptr(), o), depth);
            return;
        }
        if (has_erlang_hook(type, t.erlang_hook.ptr())) {
            hooked(PyObject_CallMethodNoArgs(o, t.erlang_hook.ptr()), depth);
            return;
        }
        // Subclasses of the built-in types (IntEnum, StrEnum, namedtuple,
        // OrderedDict, numpy.float64, ...) by their built-in value; other
        // built-in types with a natural Erlang form.
        if (PyLong_Check(o)) {
            encode_int(x_, o);
        } else if (PyFloat_Check(o)) {
            encode_float(x_, PyFloat_AS_DOUBLE(o));
        } else if (PyUnicode_Check(o)) {
            encode_str(x_, o, false);
        } else if (PyBytes_Check(o)) {
            encode_binary(x_, PyBytes_AS_STRING(o), std::size_t(PyBytes_GET_SIZE(o)));
        } else if (PyList_Check(o)) {
            list(o, depth);
        } else if (PyTuple_Check(o)) {
            tuple(o, depth);
        } else if (PyDict_Check(o)) {
            dict(o, depth);
        } else if (PyByteArray_Check(o)) {
            encode_binary(x_, PyByteArray_AS_STRING(o), std::size_t(PyByteArray_GET_SIZE(o)));
        } else if (PyMemoryView_Check(o)) {
            py::object b = py::reinterpret_steal<py::object>(PyBytes_FromObject(o));
            if (!b) {
                throw py::error_already_set();
            }
            encode_binary(x_, PyBytes_AS_STRING(b.ptr()), std::size_t(PyBytes_GET_SIZE(b.ptr())));
        } else if (PyAnySet_Check(o)) {
            materialized(o, depth, true);
        } else if (PyDictKeys_Check(o) || PyDictValues_Check(o) || PyDictItems_Check(o)
                   || PyRange_Check(o)) {
            materialized(o, depth, false);
        } else if (!numpy(obj, depth)) {
            std::string name = type->tp_name;
            std::string hint = PyGen_Check(o) || PyIter_Check(o)
                                   ? " (an iterator is not consumed: return list(...) instead)"
                                   : " (give its class an encoder with erlang.register_encoder "
                                     "or a __erlang__ method)";
            throw py::type_error("cannot convert Python object of type '" + name
                                 + "' to an Erlang term" + hint);
        }
    }

    // numpy is never imported by the port: if it is not in sys.modules, no
    // numpy object can exist. Arrays become nested lists (ndarray.tolist()),
    // scalars the Python number they hold (numpy.generic.item()).
    bool numpy(py::handle obj, std::size_t depth) {
        PyObject *np = PyImport_GetModule(numpy_name().ptr());
        if (np == nullptr) {
            if (PyErr_Occurred()) {
                throw py::error_already_set();
            }
            return false;
        }
        py::object module = py::reinterpret_steal<py::object>(np);
        for (const char *cls : {"ndarray", "generic"}) {
            py::object type = py::reinterpret_steal<py::object>(PyObject_GetAttrString(np, cls));
            if (!type) {
                PyErr_Clear();
                return false;
            }
            int r = PyObject_IsInstance(obj.ptr(), type.ptr());
            if (r < 0) {
                throw py::error_already_set();
            }
            if (r == 1) {
                const char *method = cls[0] == 'n' ? "tolist" : "item";
                hooked(PyObject_CallMethod(obj.ptr(), method, nullptr), depth);
                return true;
            }
        }
        return false;
    }

    static const py::str &numpy_name() {
        // Leaked on purpose: a static py::object would be released after Python finalizes.
        static py::str *name = new py::str("numpy");
        return *name;
    }

    void tuple_as_list(const py::object &items, std::size_t depth) {
        PyObject *o = items.ptr();
        if (!PyTuple_Check(o)) {
            throw py::type_error("FrozenList.items must be a tuple");
        }
        Py_ssize_t n = PyTuple_GET_SIZE(o);
        if (n > 0) {
            ei_check(ei_x_encode_list_header(x_, long(n)), "list");
            for (Py_ssize_t i = 0; i < n; ++i) {
                term(PyTuple_GET_ITEM(o, i), depth + 1);
            }
        }
        ei_check(ei_x_encode_empty_list(x_), "list");
    }

    void improper_list(py::handle obj, std::size_t depth) {
        py::object items = obj.attr("items");
        if (!PyList_Check(items.ptr())) {
            throw py::type_error("ImproperList.items must be a list");
        }
        Py_ssize_t n = PyList_GET_SIZE(items.ptr());
        if (n == 0) {
            throw py::value_error("an improper list needs at least one element");
        }
        ei_check(ei_x_encode_list_header(x_, long(n)), "list");
        for (Py_ssize_t i = 0; i < n; ++i) {
            if (i >= PyList_GET_SIZE(items.ptr())) {
                changed_size("list");
            }
            py::object item = py::reinterpret_borrow<py::object>(PyList_GET_ITEM(items.ptr(), i));
            term(item, depth + 1);
        }
        term(obj.attr("tail"), depth + 1);
    }

    // Our classes are plain classes: a C-level type check, no __instancecheck__.
    static bool is(PyObject *o, const py::object &cls) {
        return PyObject_TypeCheck(o, reinterpret_cast<PyTypeObject *>(cls.ptr()));
    }

    ei_x_buff *x_;
    std::size_t max_depth_;
};

} // namespace

void encode_term(ei_x_buff *x, py::handle obj, std::size_t max_depth) {
    encoder(x, max_depth).term(obj, 0);
}

void encode_list(ei_x_buff *x, PyObject *const *items, std::size_t count, std::size_t max_depth) {
    encoder(x, max_depth).list(items, count, 0);
}

void set_none_atom(const std::string &name) {
    none_atom = name;
}

} // namespace erlang_python
