// ETF -> Python: the decoding half of the term codec (term_codec.hpp is the entry point).
#include "python/handle_table.hpp"
#include "python/module_lookup.hpp"
#include "python/python_types.hpp"
#include "terms/binary_decode.hpp"
#include "terms/stack_guard.hpp"
#include "terms/term_codec.hpp"
#include "wire/term_buffer.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace erlang_python {
namespace {

bool is_reference_tag(unsigned char tag) {
    return tag == ERL_NEWER_REFERENCE_EXT || tag == ERL_NEW_REFERENCE_EXT
           || tag == ERL_REFERENCE_EXT;
}

// ---- ETF -> Python -------------------------------------------------------

class decoder {
public:
    explicit decoder(const char *buf) : buf_(buf) {}

    // Each container recurses: a thread with a small stack (a Python thread
    // after threading.stack_size()) may run out before the depth limit.
    static void guard_stack() {
        if (stack_nearly_exhausted()) {
            throw term_error("term nested too deep for this thread's stack");
        }
    }

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
                guard_stack();
                ei_decode_tuple_header(buf_, &index_, &arity);
                if (arity == 2 && forced_bytes()) {
                    return bytes_tuple();
                }
                if (arity >= 2 && handle_tagged()) {
                    return handle(arity);
                }
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

    // At the start of a call request's body (after the version byte): decodes
    // {Module, Function, Args, Kwargs} into out when the names are binaries
    // and Args is a proper list; returns false for any other shape.
    bool call(call_request &out) {
        auto p = reinterpret_cast<const unsigned char *>(buf_);
        if (p[index_] != ERL_SMALL_TUPLE_EXT || p[index_ + 1] != 4) {
            return false;
        }
        index_ += 2;
        py::object module = name();
        if (!module) {
            return false;
        }
        py::object function = name();
        if (!function) {
            return false;
        }
        switch (p[index_]) {
            case ERL_NIL_EXT:
                ++index_;
                break;
            case ERL_STRING_EXT: {
                std::size_t n = (std::size_t(p[index_ + 1]) << 8) | p[index_ + 2];
                index_ += 3;
                out.reserve(n);
                for (std::size_t i = 0; i < n; ++i) {
                    out.push(PyLong_FromLong(p[index_ + i]));
                }
                index_ += int(n);
                break;
            }
            case ERL_LIST_EXT: {
                int arity = 0;
                ei_decode_list_header(buf_, &index_, &arity);
                out.reserve(std::size_t(arity));
                for (int i = 0; i < arity; ++i) {
                    out.push(term().release().ptr());
                }
                if (p[index_] != ERL_NIL_EXT) {
                    return false; // an improper list: ImproperList, then tuple(Args)
                }
                ++index_;
                break;
            }
            default:
                return false;
        }
        if (p[index_] == ERL_MAP_EXT && p[index_ + 1] == 0 && p[index_ + 2] == 0
            && p[index_ + 3] == 0 && p[index_ + 4] == 0) {
            index_ += 5;
        } else {
            out.kwargs = term();
        }
        out.module = std::move(module);
        out.function = std::move(function);
        return true;
    }

private:
    // A module or function name at index_: its str when it is a binary of
    // valid UTF-8 (then read past), else null.
    py::object name() {
        auto p = reinterpret_cast<const unsigned char *>(buf_ + index_);
        if (p[0] != ERL_BINARY_EXT) {
            return py::object();
        }
        std::size_t size = (std::size_t(p[1]) << 24) | (std::size_t(p[2]) << 16)
                           | (std::size_t(p[3]) << 8) | p[4];
        py::object s = name_str(buf_ + index_ + 5, size);
        if (s) {
            index_ += int(5 + size);
        }
        return s;
    }

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
        // int.from_bytes (public API; bignums are off the hot path).
        py::object magnitude
            = py::reinterpret_borrow<py::object>(reinterpret_cast<PyObject *>(&PyLong_Type))
                  .attr("from_bytes")(py::bytes(reinterpret_cast<const char *>(digits), n),
                                      "little");
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
        PyObject *atom = atom_from_etf(name, len, utf8);
        if (atom == nullptr) {
            if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
                throw py::error_already_set();
            }
            PyErr_Clear();
            throw term_error("atom name is not valid UTF-8");
        }
        return py::reinterpret_steal<py::object>(atom);
    }

    py::object list() {
        int arity = 0;
        guard_stack();
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
        if (std::size_t(size) >= large_binary_size) {
            return binary_to_python(data, std::size_t(size));
        }
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

    // {bytes, Binary}: the tuple header is read; is it followed by the atom
    // `bytes` (any atom tag) and a BINARY_EXT?
    bool forced_bytes() const {
        std::size_t after = 0;
        return atom_at(index_, "bytes", after) && byte(after) == ERL_BINARY_EXT;
    }

    // Whether the term at `at` is the atom `word` (any atom tag); `after` is
    // then the offset of the next term.
    bool atom_at(int at, const char *word, std::size_t &after) const {
        auto p = reinterpret_cast<const unsigned char *>(buf_ + at);
        std::size_t len = 0;
        std::size_t head = 0;
        switch (p[0]) {
            case ERL_SMALL_ATOM_EXT:
            case ERL_SMALL_ATOM_UTF8_EXT:
                len = p[1];
                head = 2;
                break;
            case ERL_ATOM_EXT:
            case ERL_ATOM_UTF8_EXT:
                len = (std::size_t(p[1]) << 8) | p[2];
                head = 3;
                break;
            default:
                return false;
        }
        if (len != std::strlen(word) || std::memcmp(p + head, word, len) != 0) {
            return false;
        }
        after = std::size_t(at) + head + len;
        return true;
    }

    unsigned char byte(std::size_t at) const { return static_cast<unsigned char>(buf_[at]); }

    py::object bytes_tuple() {
        ei_skip_term(buf_, &index_); // the atom, checked by forced_bytes()
        auto p = reinterpret_cast<const unsigned char *>(buf_ + index_);
        std::size_t size = (std::size_t(p[1]) << 24) | (std::size_t(p[2]) << 16)
                           | (std::size_t(p[3]) << 8) | p[4];
        index_ += int(5 + size);
        return new_bytes(reinterpret_cast<const char *>(p + 5), size);
    }

    // {'$py_ref', Key, ...} (a handle, py_refs.erl): the tuple header is
    // read; is it followed by that atom and a reference?
    bool handle_tagged() const {
        std::size_t after = 0;
        return atom_at(index_, "$py_ref", after) && is_reference_tag(byte(after));
    }

    // The object the handle's Key names in this port's table (the rest of
    // the tuple only routes the handle in Erlang).
    py::object handle(int arity) {
        ei_skip_term(buf_, &index_); // the tag, checked by handle_tagged()
        int start = index_;
        ei_skip_term(buf_, &index_);
        py::object obj = handle_table::instance().find(buf_ + start, std::size_t(index_ - start));
        for (int i = 2; i < arity; ++i) {
            ei_skip_term(buf_, &index_);
        }
        if (!obj) {
            PyErr_SetString(PyExc_ReferenceError,
                            "an erlang_python handle that this Python process does not hold "
                            "(released, made by an earlier Python process, or of another node)");
            throw py::error_already_set();
        }
        return obj;
    }

    // Keys Python cannot hash (lists, maps) are frozen (erlang.FrozenList,
    // FrozenDict) only when PyDict_SetItem refuses them: no cost for the
    // usual atom, binary or integer keys. Two keys that are equal in Python
    // though distinct in Erlang (1 and 1.0) would silently become one entry:
    // that is an error instead.
    py::object map() {
        int arity = 0;
        guard_stack();
        ei_decode_map_header(buf_, &index_, &arity);
        py::dict d;
        for (int i = 0; i < arity; ++i) {
            py::object key = term();
            py::object value = term();
            Py_ssize_t before = PyDict_GET_SIZE(d.ptr());
            if (PyDict_SetItem(d.ptr(), key.ptr(), value.ptr()) != 0) {
                if (!PyErr_ExceptionMatches(PyExc_TypeError)) {
                    throw py::error_already_set();
                }
                PyErr_Clear();
                key = types().freeze(key);
                if (PyDict_SetItem(d.ptr(), key.ptr(), value.ptr()) != 0) {
                    throw py::error_already_set();
                }
            }
            if (PyDict_GET_SIZE(d.ptr()) == before) {
                throw py::value_error(
                    "an Erlang map has two keys that are equal in Python (such as 1 and 1.0, "
                    "true and 1, an atom and the binary of its name, none and undefined): "
                    + std::string(py::repr(key)));
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

} // namespace

namespace {

void check(const char *data, std::size_t size, std::size_t max_depth) {
    term_check_result check = check_term(data, size, max_depth);
    if (!check.ok) {
        throw term_error(check.error + " at byte " + std::to_string(check.offset));
    }
}
} // namespace

py::object decode_term(const char *data, std::size_t size, std::size_t max_depth) {
    if (!small_flat_term(data, size, max_depth)) {
        check(data, size, max_depth);
    }
    decoder d(data);
    d.skip_version();
    return d.term();
}

std::string call_ref_key(const char *data, std::size_t size, std::size_t max_depth) {
    check(data, size, max_depth);
    int index = 1;
    int arity = 0;
    if (ei_decode_tuple_header(data, &index, &arity) != 0 || arity != 5) {
        throw term_error("call_ref request must be {Module, Function, Args, Kwargs, Key}");
    }
    for (int i = 0; i < 4; ++i) {
        ei_skip_term(data, &index);
    }
    int start = index;
    if (!is_reference_tag(static_cast<unsigned char>(data[index]))) {
        throw term_error("the Key of a call_ref request must be a reference");
    }
    ei_skip_term(data, &index);
    return std::string(data + start, std::size_t(index - start));
}

bool is_release_all(const char *data, std::size_t size) {
    check(data, size, 4);
    int index = 1;
    char name[MAXATOMLEN_UTF8];
    return ei_decode_atom(data, &index, name) == 0 && std::strcmp(name, "all") == 0;
}

std::vector<std::string> handle_keys(const char *data, std::size_t size) {
    check(data, size, 4);
    int index = 1;
    int arity = 0;
    std::vector<std::string> keys;
    if (static_cast<unsigned char>(data[index]) == ERL_NIL_EXT) {
        return keys;
    }
    if (ei_decode_list_header(data, &index, &arity) != 0) {
        throw term_error("release request must be a list of references");
    }
    keys.reserve(std::size_t(arity));
    for (int i = 0; i < arity; ++i) {
        int start = index;
        if (!is_reference_tag(static_cast<unsigned char>(data[index]))) {
            throw term_error("release request must be a list of references");
        }
        ei_skip_term(data, &index);
        keys.emplace_back(data + start, std::size_t(index - start));
    }
    return keys;
}

void call_request::reserve(std::size_t n) {
    if (n > in_place) {
        far_.reset(new PyObject *[n + 1]);
        argv_ = far_.get();
    }
}

void call_request::drop_args() {
    for (std::size_t i = 0; i < argc_; ++i) {
        Py_DECREF(argv_[1 + i]);
    }
    argc_ = 0;
    argv_ = near_;
    far_.reset();
}

void decode_call(const char *data, std::size_t size, std::size_t max_depth, call_request &out) {
    if (max_depth < 2 || !small_call_term(data, size)) {
        check(data, size, max_depth);
    }
    decoder d(data);
    d.skip_version();
    if (d.call(out)) {
        return;
    }
    out.drop_args();
    out.kwargs = py::object();
    decoder whole(data);
    whole.skip_version();
    out.other = whole.term();
}

} // namespace erlang_python
