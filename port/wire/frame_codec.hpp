// Pure {packet,4} frame codec: parses and builds frame headers; no I/O, no Python.
#pragma once

#include "wire/byte_buffer.hpp"
#include "wire/protocol.hpp"

#include <cstddef>
#include <string>

namespace erlang_python {

struct frame_header {
    frame_kind kind = frame_kind::call;
    channel_id channel = any_channel;
    ref_id ref = 0;
};

// One decoded frame: its header and the ETF term that follows it.
struct frame {
    frame_header header;
    byte_buffer storage; // owns the bytes; body points into it
    std::size_t body_offset = 0;
    std::size_t body_size = 0;

    const char *body() const { return storage.data() + body_offset; }
};

enum class parse_status { good, bad, indeterminate };

struct parse_result {
    parse_status status = parse_status::indeterminate;
    // Length of the frame after its 4-byte prefix; known once 4 bytes are present.
    std::size_t frame_length = 0;
    const char *error = nullptr; // set when status is bad
};

// Looks at the front of [data, data + size): is a whole frame there?
// Pure: does not copy or consume anything.
parse_result parse_frame(const char *data, std::size_t size, std::size_t max_frame);

// True for the kinds Erlang may send to the port.
bool is_inbound_kind(unsigned kind);

// True for call, eval, exec, stats and log_level: frames that run Python and get a reply.
inline bool is_request(frame_kind k) {
    return k == frame_kind::call || k == frame_kind::eval || k == frame_kind::exec
           || k == frame_kind::stats || k == frame_kind::log_level;
}

// Decodes the 13-byte header at p (after the length prefix). The caller has
// already checked the kind with parse_frame.
frame_header decode_header(const char *p);

// Writes the 4-byte length prefix and the 13-byte header into out (17 bytes).
void encode_prefix(char *out, std::size_t body_size, const frame_header &header);

// A whole frame (prefix, header, body) as bytes; for tests and small frames.
std::string encode_frame(const frame_header &header, const std::string &body);

const char *kind_name(frame_kind kind);

} // namespace erlang_python
