// Catch2 tests of the pure frame codec.
#include "frame_codec.hpp"

#include <catch2/catch.hpp>

using namespace erlang_python;

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
