// libFuzzer target: the frame parser, the ETF structure check and the ETF -> Python decoder
// (decode_term, and decode_call for a call request's parts).
//
// An input starting with 131 (the ETF version byte) is one term; any other
// input is a stream of {packet,4} frames, each body decoded as a request
// would be. Every term that decodes is encoded back and decoded again until
// the bytes are stable; a trip that neither keeps nor shortens them, an
// encoding that does not decode, or a Python error left set aborts.
#include "wire/frame_codec.hpp"
#include "python/python_types.hpp"
#include "terms/term_check.hpp"
#include "terms/term_codec.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ei.h>
#include <pybind11/embed.h>
#include <string>

namespace py = pybind11;
using namespace erlang_python;

namespace {

// Small limits keep each input fast; the checks are the same at any size.
constexpr std::size_t fuzz_max_frame = 1 << 20;
constexpr std::size_t fuzz_max_depth = 200;

std::string encode(const py::handle &value) {
    ei_x_buff x;
    ei_x_new_with_version(&x);
    try {
        encode_term(&x, value, fuzz_max_depth);
    } catch (...) {
        ei_x_free(&x);
        throw;
    }
    std::string out(x.buff, std::size_t(x.index));
    ei_x_free(&x);
    return out;
}

void round_trip(const char *data, std::size_t size) {
    py::object value;
    try {
        value = decode_term(data, size, fuzz_max_depth);
    } catch (const term_error &) {
        return; // malformed: rejected with a clear error, as it must be
    } catch (py::error_already_set &) {
        return; // e.g. a map whose keys collide in Python
    } catch (const py::builtin_exception &) {
        return;
    }
    std::string once;
    try {
        once = encode(value);
    } catch (py::error_already_set &) {
        return; // a decoded value deeper than the limit once nested in a reply, etc.
    } catch (const py::builtin_exception &) {
        return;
    }
    // Trips until the bytes are stable. The one lossy mapping on this path is
    // {bytes, B} -> bytes -> B, and it only ever shortens the encoding, so
    // every trip must give the same bytes or strictly fewer.
    for (;;) {
        py::object again;
        try {
            again = decode_term(once.data(), once.size(), 2 * fuzz_max_depth);
        } catch (const term_error &e) {
            std::fprintf(stderr, "the encoder wrote a malformed term: %s\n", e.what());
            std::abort();
        } catch (py::error_already_set &) {
            // {'a': 1, b'a': 2} is a map with two equal keys in Erlang: refused on
            // the way back, as binary_to_term refuses it.
            return;
        } catch (const py::builtin_exception &) {
            return;
        }
        std::string twice = encode(again);
        if (twice == once) {
            return;
        }
        if (twice.size() >= once.size()) {
            std::fprintf(stderr, "re-encoding is not stable: %zu then %zu bytes\n", once.size(),
                         twice.size());
            std::abort();
        }
        once = std::move(twice);
    }
}

// A call request's body decoded into its parts: refused, or decoded without a fault.
void call_parts(const char *data, std::size_t size) {
    try {
        call_request req;
        decode_call(data, size, fuzz_max_depth, req);
    } catch (const term_error &) {
    } catch (py::error_already_set &) {
    } catch (const py::builtin_exception &) {
    }
}

void frames(const char *data, std::size_t size) {
    while (size > 0) {
        parse_result r = parse_frame(data, size, fuzz_max_frame);
        if (r.status != parse_status::good) {
            return; // bad: the port would exit with a reason; indeterminate: wait for more
        }
        const char *frame_start = data + length_prefix_size;
        frame_header h = decode_header(frame_start);
        (void)kind_name(h.kind);
        const char *body = frame_start + header_size;
        std::size_t body_size = r.frame_length - header_size;
        term_check_result check = check_term(body, body_size, fuzz_max_depth);
        if (check.ok) {
            round_trip(body, body_size);
        }
        call_parts(body, body_size);
        data += length_prefix_size + r.frame_length;
        size -= length_prefix_size + r.frame_length;
    }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
    // Python's own allocator hides out-of-bounds reads inside its arenas.
    setenv("PYTHONMALLOC", "malloc", 1);
    ei_init();
    py::initialize_interpreter(false);
    py::module_::import("sys").attr("path").attr("insert")(0, EP_PYTHON_SOURCE_DIR);
    load_python_types();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    const char *p = reinterpret_cast<const char *>(data);
    if (size > 0 && data[0] == 131) {
        round_trip(p, size);
        call_parts(p, size);
    } else {
        frames(p, size);
    }
    if (PyErr_Occurred()) {
        std::fprintf(stderr, "a Python error was left set\n");
        std::abort();
    }
    return 0;
}
