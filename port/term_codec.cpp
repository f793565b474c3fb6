// The one place where ETF and Python objects are converted into each other.
#include "term_codec.hpp"

#include "python_types.hpp"
#include "term_buffer.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace erlang_python {
namespace {

// ---- ETF -> Python -------------------------------------------------------

class decoder {
public:
    explicit decoder(const char *buf) : buf_(buf) {}

    // The input has passed check_term: lengths and nesting are known good.
    py::object term() {
        int type = 0;
        int size = 0;
        ei_get_type(buf_, &index_, &type, &size);
        switch (type) {
            case ERL_SMALL_INTEGER_EXT:
            case ERL_INTEGER_EXT: {
                long long v = 0;
                ei_decode_longlong(buf_, &index_, &v);
                return py::reinterpret_steal<py::object>(PyLong_FromLongLong(v));
            }
            case ERL_SMALL_BIG_EXT:
            case ERL_LARGE_BIG_EXT:
                return big();
            case ERL_FLOAT_EXT:
            case NEW_FLOAT_EXT: {
                double d = 0;
                if (buf_[index_] == ERL_FLOAT_EXT) {
                    // ei would sscanf the 31 bytes in place and read on past
                    // them when they hold no NUL: parse a terminated copy.
                    char text[32];
                    std::memcpy(text, buf_ + index_ + 1, 31);
                    text[31] = '\0';
                    if (std::sscanf(text, "%lf", &d) != 1) {
                        throw term_error("malformed float");
                    }
                    index_ += 32;
                } else if (ei_decode_double(buf_, &index_, &d) != 0) {
                    throw term_error("malformed float");
                }
                return py::float_(d);
            }
            case ERL_ATOM_EXT:
            case ERL_SMALL_ATOM_EXT:
            case ERL_ATOM_UTF8_EXT:
            case ERL_SMALL_ATOM_UTF8_EXT:
                return atom();
            case ERL_SMALL_TUPLE_EXT:
            case ERL_LARGE_TUPLE_EXT: {
                int arity = 0;
                ei_decode_tuple_header(buf_, &index_, &arity);
                py::tuple t(arity);
                for (int i = 0; i < arity; ++i) {
                    PyTuple_SET_ITEM(t.ptr(), i, term().release().ptr());
                }
                return std::move(t);
            }
            case ERL_NIL_EXT:
                ++index_;
                return py::list();
            case ERL_STRING_EXT: {
                // A list of small integers: Erlang packs it as bytes.
                auto p = reinterpret_cast<const unsigned char *>(buf_ + index_ + 3);
                py::list l(size);
                for (int i = 0; i < size; ++i) {
                    PyList_SET_ITEM(l.ptr(), i, PyLong_FromLong(p[i]));
                }
                index_ += 3 + size;
                return std::move(l);
            }
            case ERL_LIST_EXT:
                return list();
            case ERL_BINARY_EXT:
                return binary(size);
            case ERL_MAP_EXT:
                return map();
            case ERL_PID_EXT:
            case ERL_NEW_PID_EXT:
                return raw(types().pid);
            case ERL_REFERENCE_EXT:
            case ERL_NEW_REFERENCE_EXT:
            case ERL_NEWER_REFERENCE_EXT:
                return raw(types().ref);
            case ERL_PORT_EXT:
            case ERL_NEW_PORT_EXT:
            case ERL_V4_PORT_EXT:
                return opaque("port");
            case ERL_NEW_FUN_EXT:
            case ERL_EXPORT_EXT:
                return opaque("fun");
            case ERL_BIT_BINARY_EXT:
                return opaque("bitstring");
            default:
                throw term_error("unsupported ETF tag " + std::to_string(type));
        }
    }

    int index() const { return index_; }
    void skip_version() { index_ = 1; }

private:
    py::object big() {
        auto p = reinterpret_cast<const unsigned char *>(buf_ + index_);
        std::size_t n = 0;
        std::size_t head = 0;
        if (p[0] == ERL_SMALL_BIG_EXT) {
            n = p[1];
            head = 2;
        } else {
            n = (std::size_t(p[1]) << 24) | (std::size_t(p[2]) << 16) | (std::size_t(p[3]) << 8)
                | p[4];
            head = 5;
        }
        bool negative = p[head] != 0;
        const unsigned char *digits = p + head + 1; // little-endian magnitude
        index_ += int(head + 1 + n);
        py::object magnitude = py::reinterpret_steal<py::object>(
            _PyLong_FromByteArray(digits, n, /*little_endian=*/1, /*is_signed=*/0));
        if (!magnitude) {
            throw py::error_already_set();
        }
        if (!negative) {
            return magnitude;
        }
        return py::reinterpret_steal<py::object>(PyNumber_Negative(magnitude.ptr()));
    }

    // Reads the name in place (check_term has bounded it) rather than through
    // ei: its NUL-terminated copy cuts a name at an embedded NUL, and a 1 KiB
    // buffer in this frame would multiply by the nesting depth on the stack.
    py::object atom() {
        auto p = reinterpret_cast<const unsigned char *>(buf_ + index_);
        bool small = p[0] == ERL_SMALL_ATOM_EXT || p[0] == ERL_SMALL_ATOM_UTF8_EXT;
        bool utf8 = p[0] == ERL_ATOM_UTF8_EXT || p[0] == ERL_SMALL_ATOM_UTF8_EXT;
        std::size_t len = small ? p[1] : (std::size_t(p[1]) << 8) | p[2];
        const char *name = buf_ + index_ + (small ? 2 : 3);
        index_ += int((small ? 2 : 3) + len);
        auto is = [&](const char *word) {
            return len == std::strlen(word) && std::memcmp(name, word, len) == 0;
        };
        if (is("true")) {
            return py::bool_(true);
        }
        if (is("false")) {
            return py::bool_(false);
        }
        if (is("none") || is("nil") || is("undefined")) {
            return py::none();
        }
        PyObject *text = utf8 ? PyUnicode_DecodeUTF8(name, Py_ssize_t(len), "strict")
                              : PyUnicode_DecodeLatin1(name, Py_ssize_t(len), "strict");
        if (text == nullptr) {
            if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
                throw py::error_already_set();
            }
            PyErr_Clear();
            throw term_error("atom name is not valid UTF-8");
        }
        return types().atom(py::reinterpret_steal<py::object>(text));
    }

    py::object list() {
        int arity = 0;
        ei_decode_list_header(buf_, &index_, &arity);
        py::list l(arity);
        for (int i = 0; i < arity; ++i) {
            PyList_SET_ITEM(l.ptr(), i, term().release().ptr());
        }
        if (buf_[index_] == ERL_NIL_EXT) {
            ++index_;
            return std::move(l);
        }
        py::object tail = term();
        return types().improper_list(l, tail);
    }

    py::object binary(int size) {
        const char *data = buf_ + index_ + 5;
        index_ += 5 + size;
        PyObject *text = PyUnicode_DecodeUTF8(data, size, "strict");
        if (text != nullptr) {
            return py::reinterpret_steal<py::object>(text);
        }
        if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
            throw py::error_already_set();
        }
        PyErr_Clear();
        return py::bytes(data, std::size_t(size));
    }

    py::object map() {
        int arity = 0;
        ei_decode_map_header(buf_, &index_, &arity);
        py::dict d;
        for (int i = 0; i < arity; ++i) {
            py::object key = term();
            py::object value = term();
            if (PyDict_SetItem(d.ptr(), key.ptr(), value.ptr()) != 0) {
                throw py::error_already_set();
            }
        }
        return std::move(d);
    }

    // Keeps the term's exact ETF bytes so it goes back to Erlang unchanged.
    py::bytes raw_bytes() {
        int start = index_;
        if (ei_skip_term(buf_, &index_) != 0) {
            throw term_error("malformed term");
        }
        return py::bytes(buf_ + start, std::size_t(index_ - start));
    }
    py::object raw(const py::object &cls) { return cls(raw_bytes()); }
    py::object opaque(const char *kind) { return types().opaque(kind, raw_bytes()); }

    const char *buf_;
    int index_ = 0;
};

// ---- Python -> ETF -------------------------------------------------------

void encode_atom(ei_x_buff *x, const char *name, std::size_t len) {
    ei_check(ei_x_encode_atom_len_as(x, name, int(len), ERLANG_UTF8, ERLANG_UTF8), "atom");
}

void encode_binary(ei_x_buff *x, const char *data, std::size_t len) {
    if (len > 0x7fffffffu) {
        throw py::value_error("binary larger than 2 GiB");
    }
    ei_check(ei_x_encode_binary(x, data, int(len)), "binary");
}

void encode_int(ei_x_buff *x, PyObject *o) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow == 0) {
        if (v == -1 && PyErr_Occurred()) {
            throw py::error_already_set();
        }
        ei_check(ei_x_encode_longlong(x, v), "integer");
        return;
    }
    // A bignum: sign byte and little-endian magnitude, as SMALL_BIG_EXT or LARGE_BIG_EXT.
    py::object magnitude = py::reinterpret_steal<py::object>(PyNumber_Absolute(o));
    if (!magnitude) {
        throw py::error_already_set();
    }
    std::size_t bits = _PyLong_NumBits(magnitude.ptr());
    std::size_t n = (bits + 7) / 8;
    std::vector<unsigned char> out(n + 6);
    std::size_t head = 0;
    if (n < 256) {
        out[0] = ERL_SMALL_BIG_EXT;
        out[1] = static_cast<unsigned char>(n);
        head = 2;
    } else {
        out[0] = ERL_LARGE_BIG_EXT;
        out[1] = static_cast<unsigned char>(n >> 24);
        out[2] = static_cast<unsigned char>(n >> 16);
        out[3] = static_cast<unsigned char>(n >> 8);
        out[4] = static_cast<unsigned char>(n);
        head = 5;
    }
    out[head] = overflow < 0 ? 1 : 0;
    if (_PyLong_AsByteArray(reinterpret_cast<PyLongObject *>(magnitude.ptr()),
                            out.data() + head + 1,
                            n,
                            /*little_endian=*/1,
                            /*is_signed=*/0)
        != 0) {
        throw py::error_already_set();
    }
    ei_check(ei_x_append_buf(x, reinterpret_cast<const char *>(out.data()), int(head + 1 + n)),
             "integer");
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

void append_raw(ei_x_buff *x, py::handle obj) {
    py::bytes etf = obj.attr("etf");
    char *data = nullptr;
    Py_ssize_t len = 0;
    PyBytes_AsStringAndSize(etf.ptr(), &data, &len);
    ei_check(ei_x_append_buf(x, data, int(len)), "opaque term");
}

class encoder {
public:
    encoder(ei_x_buff *x, std::size_t max_depth) : x_(x), max_depth_(max_depth) {}

    void term(py::handle obj, std::size_t depth) {
        if (depth > max_depth_) {
            throw py::value_error("value nested deeper than " + std::to_string(max_depth_)
                                  + " levels (or it contains itself)");
        }
        PyObject *o = obj.ptr();
        const python_types &t = types();
        if (o == Py_None) {
            encode_atom(x_, "none", 4);
        } else if (o == Py_True) {
            encode_atom(x_, "true", 4);
        } else if (o == Py_False) {
            encode_atom(x_, "false", 5);
        } else if (PyLong_Check(o)) {
            encode_int(x_, o);
        } else if (PyFloat_Check(o)) {
            encode_float(x_, PyFloat_AS_DOUBLE(o));
        } else if (PyUnicode_CheckExact(o)) {
            encode_str(x_, o, false);
        } else if (PyUnicode_Check(o)) {
            encode_str(x_, o, PyObject_IsInstance(o, t.atom.ptr()) == 1);
        } else if (PyBytes_Check(o)) {
            encode_binary(x_, PyBytes_AS_STRING(o), std::size_t(PyBytes_GET_SIZE(o)));
        } else if (PyList_Check(o)) {
            Py_ssize_t n = PyList_GET_SIZE(o);
            if (n > 0) {
                ei_check(ei_x_encode_list_header(x_, long(n)), "list");
                for (Py_ssize_t i = 0; i < n; ++i) {
                    term(PyList_GET_ITEM(o, i), depth + 1);
                }
            }
            ei_check(ei_x_encode_empty_list(x_), "list");
        } else if (PyTuple_Check(o)) {
            Py_ssize_t n = PyTuple_GET_SIZE(o);
            ei_check(ei_x_encode_tuple_header(x_, long(n)), "tuple");
            for (Py_ssize_t i = 0; i < n; ++i) {
                term(PyTuple_GET_ITEM(o, i), depth + 1);
            }
        } else if (PyDict_Check(o)) {
            ei_check(ei_x_encode_map_header(x_, long(PyDict_GET_SIZE(o))), "map");
            Py_ssize_t pos = 0;
            PyObject *key = nullptr;
            PyObject *value = nullptr;
            while (PyDict_Next(o, &pos, &key, &value)) {
                term(key, depth + 1);
                term(value, depth + 1);
            }
        } else if (PyByteArray_Check(o)) {
            encode_binary(x_, PyByteArray_AS_STRING(o), std::size_t(PyByteArray_GET_SIZE(o)));
        } else if (PyMemoryView_Check(o)) {
            py::bytes b = py::reinterpret_steal<py::bytes>(PyBytes_FromObject(o));
            if (!b) {
                throw py::error_already_set();
            }
            encode_binary(x_, PyBytes_AS_STRING(b.ptr()), std::size_t(PyBytes_GET_SIZE(b.ptr())));
        } else if (isinstance(o, t.pid) || isinstance(o, t.ref) || isinstance(o, t.opaque)) {
            append_raw(x_, obj);
        } else if (isinstance(o, t.improper_list)) {
            py::list items = obj.attr("items");
            Py_ssize_t n = PyList_GET_SIZE(items.ptr());
            if (n == 0) {
                throw py::value_error("an improper list needs at least one element");
            }
            ei_check(ei_x_encode_list_header(x_, long(n)), "list");
            for (Py_ssize_t i = 0; i < n; ++i) {
                term(PyList_GET_ITEM(items.ptr(), i), depth + 1);
            }
            term(obj.attr("tail"), depth + 1);
        } else {
            throw py::type_error(std::string("cannot convert Python object of type '")
                                 + Py_TYPE(o)->tp_name + "' to an Erlang term");
        }
    }

private:
    static bool isinstance(PyObject *o, const py::object &cls) {
        int r = PyObject_IsInstance(o, cls.ptr());
        if (r < 0) {
            throw py::error_already_set();
        }
        return r == 1;
    }

    ei_x_buff *x_;
    std::size_t max_depth_;
};

} // namespace

py::object decode_term(const char *data, std::size_t size, std::size_t max_depth) {
    term_check_result check = check_term(data, size, max_depth);
    if (!check.ok) {
        throw term_error(check.error + " at byte " + std::to_string(check.offset));
    }
    decoder d(data);
    d.skip_version();
    return d.term();
}

void encode_term(ei_x_buff *x, py::handle obj, std::size_t max_depth) {
    encoder(x, max_depth).term(obj, 0);
}

} // namespace erlang_python
