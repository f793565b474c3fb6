// Pure {packet,4} frame codec: parses and builds frame headers; no I/O, no Python.
#include "wire/frame_codec.hpp"

namespace erlang_python {
namespace {

std::uint32_t get_u32(const char *p) {
    auto b = reinterpret_cast<const unsigned char *>(p);
    return (std::uint32_t(b[0]) << 24) | (std::uint32_t(b[1]) << 16) | (std::uint32_t(b[2]) << 8)
           | std::uint32_t(b[3]);
}

std::uint64_t get_u64(const char *p) {
    return (std::uint64_t(get_u32(p)) << 32) | get_u32(p + 4);
}

void put_u32(char *p, std::uint32_t v) {
    p[0] = char(v >> 24);
    p[1] = char(v >> 16);
    p[2] = char(v >> 8);
    p[3] = char(v);
}

} // namespace

bool is_inbound_kind(unsigned kind) {
    if (kind > 0xff) {
        return false;
    }
    kind_role role = role_of(static_cast<frame_kind>(kind));
    return role == kind_role::request || role == kind_role::notice || role == kind_role::result
           || role == kind_role::cancel;
}

parse_result parse_frame(const char *data, std::size_t size, std::size_t max_frame) {
    parse_result r;
    if (size < length_prefix_size) {
        return r;
    }
    r.frame_length = get_u32(data);
    if (r.frame_length < header_size + 1) {
        r.status = parse_status::bad;
        r.error = "frame shorter than its header";
        return r;
    }
    if (r.frame_length > max_frame) {
        r.status = parse_status::bad;
        r.error = "frame longer than the maximum frame size";
        return r;
    }
    if (size > length_prefix_size && !is_inbound_kind(static_cast<unsigned char>(data[4]))) {
        r.status = parse_status::bad;
        r.error = "unknown frame kind";
        return r;
    }
    if (size - length_prefix_size >= r.frame_length) {
        r.status = parse_status::good;
    }
    return r;
}

frame_header decode_header(const char *p) {
    frame_header h;
    h.kind = static_cast<frame_kind>(static_cast<unsigned char>(p[0]));
    h.channel = get_u32(p + 1);
    h.ref = get_u64(p + 5);
    return h;
}

void encode_prefix(char *out, std::size_t body_size, const frame_header &header) {
    put_u32(out, std::uint32_t(header_size + body_size));
    out[4] = char(header.kind);
    put_u32(out + 5, header.channel);
    put_u32(out + 9, std::uint32_t(header.ref >> 32));
    put_u32(out + 13, std::uint32_t(header.ref));
}

std::string encode_frame(const frame_header &header, const std::string &body) {
    std::string out(length_prefix_size + header_size, '\0');
    encode_prefix(&out[0], body.size(), header);
    return out + body;
}

} // namespace erlang_python
