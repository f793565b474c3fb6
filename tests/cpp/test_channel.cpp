// Catch2 tests of channel::accept: a frame its owner read itself ends a wait exactly as delivering it would.
#include "runtime/channel.hpp"

#include <catch2/catch.hpp>

using namespace erlang_python;

namespace {

frame result_frame(channel_id ch, ref_id ref) {
    frame f;
    f.header = {frame_kind::result, ch, ref};
    return f;
}

} // namespace

TEST_CASE("accept hands over a frame when nothing comes before it", "[channel]") {
    channel ch(1);
    std::uint64_t since = ch.abort_epoch();
    wake w = ch.accept(result_frame(1, 7), since);
    REQUIRE(w.reason == wake_reason::frame);
    REQUIRE(w.received->header.ref == 7);
    REQUIRE_FALSE(ch.poll(since).has_value()); // nothing was queued
}

TEST_CASE("accept keeps mailbox order: an older frame comes first", "[channel]") {
    channel ch(1);
    std::uint64_t since = ch.abort_epoch();
    ch.deliver(result_frame(1, 1));
    wake w = ch.accept(result_frame(1, 2), since);
    REQUIRE(w.reason == wake_reason::frame);
    REQUIRE(w.received->header.ref == 1);
    std::optional<wake> next = ch.poll(since);
    REQUIRE(next.has_value());
    REQUIRE(next->received->header.ref == 2);
}

TEST_CASE("accept reports an interrupt or an abort first and keeps the frame", "[channel]") {
    channel ch(1);
    std::uint64_t since = ch.abort_epoch();

    ch.interrupt();
    REQUIRE(ch.accept(result_frame(1, 3), since).reason == wake_reason::interrupted);
    ch.clear_interrupt();

    ch.abort();
    REQUIRE(ch.accept(result_frame(1, 4), since).reason == wake_reason::aborted);

    // A wait begun after the abort finds both frames, in order.
    std::uint64_t now = ch.abort_epoch();
    REQUIRE(now == since + 1);
    REQUIRE(ch.poll(now)->received->header.ref == 3);
    REQUIRE(ch.poll(now)->received->header.ref == 4);
    REQUIRE_FALSE(ch.poll(now).has_value());
}
