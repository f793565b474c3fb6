// Large ETF binaries -> Python (str when UTF-8, else bytes) without a UnicodeDecodeError's copy.
#pragma once

#include <cstddef>
#include <pybind11/pybind11.h>

namespace erlang_python {

namespace py = pybind11;

// Binaries at least this large take binary_to_python() in the decoder.
constexpr std::size_t large_binary_size = 64 * 1024;

// Length of the longest prefix of [data, data + size) that is well-formed
// UTF-8 (RFC 3629: no overlong forms, surrogates or code points past
// U+10FFFF, which is what Python's strict decoder accepts), cut at a
// character boundary. size when the whole input is well-formed.
std::size_t utf8_valid_prefix(const char *data, std::size_t size);

// Requires the GIL. A new bytes object with a copy of the data; a large one
// is hinted for huge pages before it is filled.
py::object new_bytes(const char *data, std::size_t size);

// Requires the GIL. The same result as PyUnicode_DecodeUTF8 with bytes as
// the fallback (str when the data is UTF-8, else bytes), but a failed decode
// costs no UnicodeDecodeError, which would hold a copy of the whole input,
// and no str allocated for the whole input in vain.
py::object binary_to_python(const char *data, std::size_t size);

} // namespace erlang_python
