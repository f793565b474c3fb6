// Large ETF binaries -> Python (str when UTF-8, else bytes) without a UnicodeDecodeError's copy.
#include "terms/binary_decode.hpp"

#include "wire/huge_pages.hpp"

#include <cstdint>
#include <cstring>

namespace erlang_python {
namespace {

// Bytes a sequence starting with lead claims (1 for a byte that cannot lead one).
std::size_t claimed_length(unsigned char lead) {
    if (lead >= 0xC2 && lead <= 0xDF) {
        return 2;
    }
    if (lead >= 0xE0 && lead <= 0xEF) {
        return 3;
    }
    if (lead >= 0xF0 && lead <= 0xF4) {
        return 4;
    }
    return 1;
}

// Python's own verdict on the whole input: str, or bytes when it is not UTF-8.
py::object decode_or_bytes(const char *data, std::size_t size) {
    PyObject *text = PyUnicode_DecodeUTF8(data, Py_ssize_t(size), "strict");
    if (text != nullptr) {
        return py::reinterpret_steal<py::object>(text);
    }
    if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
        throw py::error_already_set();
    }
    PyErr_Clear();
    return new_bytes(data, size);
}

} // namespace

std::size_t utf8_valid_prefix(const char *data, std::size_t size) {
    auto p = reinterpret_cast<const unsigned char *>(data);
    std::size_t i = 0;
    while (i < size) {
        if (p[i] < 0x80) {
            // ASCII: eight bytes at a time while no high bit is set.
            while (size - i >= 8) {
                std::uint64_t word;
                std::memcpy(&word, p + i, 8);
                if ((word & 0x8080808080808080ull) != 0) {
                    break;
                }
                i += 8;
            }
            while (i < size && p[i] < 0x80) {
                ++i;
            }
            continue;
        }
        unsigned char lead = p[i];
        std::size_t length = claimed_length(lead);
        if (length == 1 || size - i < length) {
            return i;
        }
        // The second byte's range excludes overlong forms, surrogates and
        // code points past U+10FFFF.
        unsigned char low = 0x80;
        unsigned char high = 0xBF;
        if (lead == 0xE0) {
            low = 0xA0;
        } else if (lead == 0xED) {
            high = 0x9F;
        } else if (lead == 0xF0) {
            low = 0x90;
        } else if (lead == 0xF4) {
            high = 0x8F;
        }
        if (p[i + 1] < low || p[i + 1] > high) {
            return i;
        }
        for (std::size_t k = 2; k < length; ++k) {
            if ((p[i + k] & 0xC0) != 0x80) {
                return i;
            }
        }
        i += length;
    }
    return size;
}

py::object new_bytes(const char *data, std::size_t size) {
    PyObject *b = PyBytes_FromStringAndSize(nullptr, Py_ssize_t(size));
    if (b == nullptr) {
        throw py::error_already_set();
    }
    char *out = PyBytes_AS_STRING(b);
    advise_huge_pages(out, size);
    if (size != 0) {
        std::memcpy(out, data, size);
    }
    return py::reinterpret_steal<py::object>(b);
}

py::object binary_to_python(const char *data, std::size_t size) {
    std::size_t valid = utf8_valid_prefix(data, size);
    if (valid == size) {
        return decode_or_bytes(data, size);
    }
    // Python must agree that the character where the check stopped is not
    // UTF-8; asking it about those few bytes is cheap. Should it disagree,
    // its verdict on the whole input stands.
    std::size_t length = claimed_length(static_cast<unsigned char>(data[valid]));
    if (length > size - valid) {
        length = size - valid;
    }
    PyObject *text = PyUnicode_DecodeUTF8(data + valid, Py_ssize_t(length), "strict");
    if (text != nullptr) {
        Py_DECREF(text);
        return decode_or_bytes(data, size);
    }
    if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
        throw py::error_already_set();
    }
    PyErr_Clear();
    return new_bytes(data, size);
}

} // namespace erlang_python
