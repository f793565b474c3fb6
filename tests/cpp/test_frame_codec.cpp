// Catch2 tests of the pure frame codec.
#include "wire/frame_codec.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

using namespace erlang_python;

namespace {

constexpr std::size_t one_mib = std::size_t(1) << 20;

// A length prefix followed by whatever bytes the test wants after it.
std::string prefix(std::uint32_t length) {
    std::string s(4, '\0');
    s[0] = char(length >> 24);
    s[1] = char(length >> 16);
    s[2] = char(length >> 8);
    s[3] = char(length);
    return s;
}

// A frame whose 13-byte header carries an arbitrary kind byte.
std::string frame_with_kind(unsigned char kind, const std::string &body) {
    std::string s = prefix(std::uint32_t(header_size + body.size()));
    s += char(kind);
    s += std::string(header_size - 1, '\0');
    return s + body;
}

const std::string small_body("\x83\x6a", 2); // 131, NIL_EXT: the term []

} // namespace

TEST_CASE("frame codec round-trips a header", "[frame]") {
    frame_header h{frame_kind::call, 7, 0x0102030405060708ull};
    std::string bytes = encode_frame(h, std::string("\x83\x6a", 2));
    parse_result r = parse_frame(bytes.data(), bytes.size(), 1 << 20);
    REQUIRE(r.status == parse_status::good);
    REQUIRE(r.frame_length == header_size + 2);
    frame_header back = decode_header(bytes.data() + length_prefix_size);
    CHECK(back.kind == frame_kind::call);
    CHECK(back.channel == 7);
    CHECK(back.ref == 0x0102030405060708ull);
}

TEST_CASE("frame codec waits while fewer than 4 bytes have arrived", "[frame]") {
    std::string bytes = encode_frame({frame_kind::eval, 1, 2}, small_body);
    for (std::size_t n = 0; n < length_prefix_size; ++n) {
        INFO("bytes present: " << n);
        parse_result r = parse_frame(bytes.data(), n, one_mib);
        CHECK(r.status == parse_status::indeterminate);
        CHECK(r.frame_length == 0);
        CHECK(r.error == nullptr);
    }
}

TEST_CASE("frame codec waits for the rest of a partial body", "[frame]") {
    std::string body = small_body + std::string(100, 'x');
    std::string bytes = encode_frame({frame_kind::exec, 3, 4}, body);
    REQUIRE(bytes.size() == length_prefix_size + header_size + body.size());
    for (std::size_t n = length_prefix_size; n < bytes.size(); ++n) {
        INFO("bytes present: " << n);
        parse_result r = parse_frame(bytes.data(), n, one_mib);
        CHECK(r.status == parse_status::indeterminate);
        // The length is known as soon as the prefix is there.
        CHECK(r.frame_length == header_size + body.size());
        CHECK(r.error == nullptr);
    }
    parse_result whole = parse_frame(bytes.data(), bytes.size(), one_mib);
    CHECK(whole.status == parse_status::good);
    CHECK(whole.frame_length == header_size + body.size());
}

TEST_CASE("frame codec rejects a length below the header size", "[frame]") {
    // A frame needs its 13-byte header and at least the ETF version byte.
    for (std::uint32_t length = 0; length <= header_size; ++length) {
        INFO("length: " << length);
        std::string bytes = prefix(length) + std::string(length, char(frame_kind::call));
        // Rejected from the prefix alone, before the rest arrives.
        parse_result early = parse_frame(bytes.data(), length_prefix_size, one_mib);
        CHECK(early.status == parse_status::bad);
        CHECK(early.frame_length == length);
        REQUIRE(early.error != nullptr);
        CHECK(std::string(early.error) == "frame shorter than its header");
        parse_result all = parse_frame(bytes.data(), bytes.size(), one_mib);
        CHECK(all.status == parse_status::bad);
    }
    std::string shortest = encode_frame({frame_kind::call, 0, 0}, std::string(1, '\x83'));
    CHECK(parse_frame(shortest.data(), shortest.size(), one_mib).status == parse_status::good);
}

TEST_CASE("frame codec rejects a length over the maximum", "[frame]") {
    const std::size_t max_frame = 100;
    std::string body(max_frame - header_size, '\x83');
    std::string at_max = encode_frame({frame_kind::call, 0, 0}, body);
    parse_result ok = parse_frame(at_max.data(), at_max.size(), max_frame);
    CHECK(ok.status == parse_status::good);
    CHECK(ok.frame_length == max_frame);

    std::string over = encode_frame({frame_kind::call, 0, 0}, body + "x");
    // Rejected from the prefix alone: no need to buffer an oversized body first.
    for (std::size_t n : {length_prefix_size, length_prefix_size + 1, over.size()}) {
        INFO("bytes present: " << n);
        parse_result r = parse_frame(over.data(), n, max_frame);
        CHECK(r.status == parse_status::bad);
        CHECK(r.frame_length == max_frame + 1);
        REQUIRE(r.error != nullptr);
        CHECK(std::string(r.error) == "frame longer than the maximum frame size");
    }
}

TEST_CASE("frame codec handles the largest length prefix without overflow", "[frame]") {
    std::string bytes = prefix(0xffffffffu) + char(frame_kind::call) + std::string(20, '\0');
    parse_result capped = parse_frame(bytes.data(), bytes.size(), one_mib);
    CHECK(capped.status == parse_status::bad);
    CHECK(capped.frame_length == 0xffffffffu);

    parse_result unlimited
        = parse_frame(bytes.data(), bytes.size(), std::numeric_limits<std::size_t>::max());
    CHECK(unlimited.status == parse_status::indeterminate);
    CHECK(unlimited.frame_length == 0xffffffffu);
}

TEST_CASE("frame codec rejects an unknown kind byte", "[frame]") {
    for (unsigned kind = 0; kind < 256; ++kind) {
        INFO("kind: " << kind);
        std::string bytes = frame_with_kind(static_cast<unsigned char>(kind), small_body);
        bool inbound
            = kind >= unsigned(frame_kind::call) && kind <= unsigned(frame_kind::drop_namespace);
        CHECK(is_inbound_kind(kind) == inbound);
        // Judged as soon as the kind byte is there.
        parse_result early = parse_frame(bytes.data(), length_prefix_size + 1, one_mib);
        parse_result all = parse_frame(bytes.data(), bytes.size(), one_mib);
        if (inbound) {
            CHECK(early.status == parse_status::indeterminate);
            CHECK(all.status == parse_status::good);
            CHECK(all.error == nullptr);
        } else {
            CHECK(early.status == parse_status::bad);
            CHECK(all.status == parse_status::bad);
            REQUIRE(all.error != nullptr);
            CHECK(std::string(all.error) == "unknown frame kind");
        }
    }
}

TEST_CASE("frame codec rejects the kinds only the port sends", "[frame]") {
    for (frame_kind kind :
         {frame_kind::hello, frame_kind::reply, frame_kind::callback, frame_kind::message}) {
        INFO("kind: " << kind_name(kind));
        std::string bytes = encode_frame({kind, 1, 1}, small_body);
        parse_result r = parse_frame(bytes.data(), bytes.size(), one_mib);
        CHECK(r.status == parse_status::bad);
        CHECK(std::string(r.error) == "unknown frame kind");
    }
}

TEST_CASE("frame codec parses two frames back to back", "[frame]") {
    std::string body1 = small_body;
    std::string body2 = std::string("\x83\x61\x2a", 3); // 131, SMALL_INTEGER_EXT 42
    std::string first = encode_frame({frame_kind::call, 1, 10}, body1);
    std::string second = encode_frame({frame_kind::result, 2, 20}, body2);
    std::string stream = first + second;

    parse_result r1 = parse_frame(stream.data(), stream.size(), one_mib);
    REQUIRE(r1.status == parse_status::good);
    REQUIRE(r1.frame_length == header_size + body1.size());
    frame_header h1 = decode_header(stream.data() + length_prefix_size);
    CHECK(h1.kind == frame_kind::call);
    CHECK(h1.channel == 1);
    CHECK(h1.ref == 10);
    CHECK(stream.substr(length_prefix_size + header_size, r1.frame_length - header_size) == body1);

    std::size_t next = length_prefix_size + r1.frame_length;
    REQUIRE(next == first.size());
    parse_result r2 = parse_frame(stream.data() + next, stream.size() - next, one_mib);
    REQUIRE(r2.status == parse_status::good);
    REQUIRE(r2.frame_length == header_size + body2.size());
    frame_header h2 = decode_header(stream.data() + next + length_prefix_size);
    CHECK(h2.kind == frame_kind::result);
    CHECK(h2.channel == 2);
    CHECK(h2.ref == 20);
    CHECK(stream.substr(next + length_prefix_size + header_size) == body2);

    // The first frame is good however much of the second has arrived.
    for (std::size_t n = first.size(); n <= stream.size(); ++n) {
        INFO("bytes present: " << n);
        CHECK(parse_frame(stream.data(), n, one_mib).status == parse_status::good);
        parse_result tail = parse_frame(stream.data() + next, n - next, one_mib);
        CHECK(tail.status
              == (n == stream.size() ? parse_status::good : parse_status::indeterminate));
    }
}

TEST_CASE("frame codec round-trips the largest channel and ref", "[frame]") {
    const channel_id max_channel = std::numeric_limits<channel_id>::max();
    const ref_id max_ref = std::numeric_limits<ref_id>::max();
    struct sample {
        frame_kind kind;
        channel_id channel;
        ref_id ref;
    };
    for (sample s : {sample{frame_kind::call, max_channel, max_ref},
                     sample{frame_kind::stats, 0, 0},
                     sample{frame_kind::message, max_channel, 0},
                     sample{frame_kind::hello, 0, max_ref},
                     sample{frame_kind::reply, 0x80000001u, 0x8000000000000001ull}}) {
        INFO("kind " << kind_name(s.kind) << ", channel " << s.channel << ", ref " << s.ref);
        char out[length_prefix_size + header_size];
        std::memset(out, 0x55, sizeof out);
        encode_prefix(out, 1234, {s.kind, s.channel, s.ref});
        frame_header back = decode_header(out + length_prefix_size);
        CHECK(back.kind == s.kind);
        CHECK(back.channel == s.channel);
        CHECK(back.ref == s.ref);
        CHECK(std::string(out, 4) == prefix(std::uint32_t(header_size + 1234)));
    }
}

TEST_CASE("frame codec writes the prefix and header big-endian", "[frame]") {
    std::string bytes
        = encode_frame({frame_kind::callback, 0x01020304u, 0x05060708090a0b0cull}, "\x83\x6a");
    const unsigned char expected[] = {0,
                                      0,
                                      0,
                                      15, // length: header + 2-byte body
                                      66, // callback
                                      1,
                                      2,
                                      3,
                                      4, // channel
                                      5,
                                      6,
                                      7,
                                      8,
                                      9,
                                      10,
                                      11,
                                      12, // ref
                                      131,
                                      106};
    REQUIRE(bytes.size() == sizeof expected);
    CHECK(bytes == std::string(reinterpret_cast<const char *>(expected), sizeof expected));
}

TEST_CASE("frame codec writes an empty body as a bare header", "[frame]") {
    std::string bytes = encode_frame({frame_kind::reply, 9, 9}, "");
    REQUIRE(bytes.size() == length_prefix_size + header_size);
    CHECK(bytes.substr(0, 4) == prefix(std::uint32_t(header_size)));
}

TEST_CASE("kind_name names every frame kind", "[frame]") {
    CHECK(std::string(kind_name(frame_kind::call)) == "call");
    CHECK(std::string(kind_name(frame_kind::eval)) == "eval");
    CHECK(std::string(kind_name(frame_kind::exec)) == "exec");
    CHECK(std::string(kind_name(frame_kind::result)) == "result");
    CHECK(std::string(kind_name(frame_kind::cancel)) == "cancel");
    CHECK(std::string(kind_name(frame_kind::stats)) == "stats");
    CHECK(std::string(kind_name(frame_kind::hello)) == "hello");
    CHECK(std::string(kind_name(frame_kind::reply)) == "reply");
    CHECK(std::string(kind_name(frame_kind::callback)) == "callback");
    CHECK(std::string(kind_name(frame_kind::message)) == "message");
    CHECK(std::string(kind_name(frame_kind::output)) == "output");
    CHECK(std::string(kind_name(frame_kind::log_level)) == "log_level");
    CHECK(std::string(kind_name(frame_kind::call_ref)) == "call_ref");
    CHECK(std::string(kind_name(frame_kind::release)) == "release");
    CHECK(std::string(kind_name(frame_kind::log)) == "log");
    CHECK(std::string(kind_name(frame_kind::drop_namespace)) == "drop_namespace");
    CHECK(std::string(kind_name(static_cast<frame_kind>(0))) == "unknown");
    CHECK(std::string(kind_name(static_cast<frame_kind>(11))) == "unknown");
    CHECK(std::string(kind_name(static_cast<frame_kind>(255))) == "unknown");
}
