// Catch2 tests of term_buffer's growth: a reply of many small terms is reallocated a logarithmic number of times.
#include "wire/term_buffer.hpp"

#include <catch2/catch.hpp>
#include <ei.h>

using namespace erlang_python;

namespace {

// How many times the buffer grew while n 8-byte binaries were encoded.
int growths(int n, bool keep) {
    term_buffer b({frame_kind::reply, 0, 1});
    ei_x_buff *x = b.get();
    int grown = 0, size = x->buffsz;
    for (int i = 0; i < n; ++i) {
        if (keep) {
            keep_room(x, 64);
        }
        REQUIRE(ei_x_encode_binary(x, "abcdefgh", 8) == 0);
        if (x->buffsz != size) {
            ++grown;
            size = x->buffsz;
        }
    }
    return grown;
}

} // namespace

TEST_CASE("keep_room makes a buffer of many small terms grow by doubling", "[term_buffer]") {
    // ei alone grows by what one call needs plus 100 bytes: about once per
    // 15 small terms, so 100,000 of them mean ~6,600 reallocations (each a
    // copy wherever realloc cannot grow in place: quadratic). (Not a million
    // here: under ASan, whose realloc always copies, that alone takes minutes.)
    CHECK(growths(100000, false) > 1000);
    CHECK(growths(100000, true) < 30);
}
