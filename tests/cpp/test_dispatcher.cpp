// Catch2 tests of the port's one dispatcher: the route of every kind, delivery, abort, cancel, a waiter's frames.
#include "runtime/channel.hpp"
#include "runtime/dispatcher.hpp"
#include "wire/frame_codec.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <unistd.h>

using namespace erlang_python;

namespace {

frame frame_of(frame_kind kind, channel_id ch, ref_id ref) {
    frame f;
    f.header = {kind, ch, ref};
    f.storage = byte_buffer(2);
    std::memcpy(f.storage.data(), "\x83\x6a", 2); // the term []
    f.body_size = 2;
    return f;
}

// A dispatcher whose writer writes into a pipe the test reads.
struct dispatcher_on_pipe {
    int fds[2];
    options config;
    std::unique_ptr<frame_writer> writer;
    std::unique_ptr<dispatcher> d;

    dispatcher_on_pipe() {
        REQUIRE(::pipe(fds) == 0);
        writer = std::make_unique<frame_writer>(fds[1]);
        d = std::make_unique<dispatcher>(config, *writer);
    }
    ~dispatcher_on_pipe() { ::close(fds[0]); }

    // The header of the next frame written.
    frame_header next_header() {
        char prefix[length_prefix_size + header_size];
        std::size_t got = 0;
        while (got < sizeof prefix) {
            ssize_t n = ::read(fds[0], prefix + got, sizeof prefix - got);
            REQUIRE(n > 0);
            got += std::size_t(n);
        }
        return decode_header(prefix + length_prefix_size);
    }
};

} // namespace

TEST_CASE("the dispatcher routes each kind by its role, channel and ref", "[dispatcher]") {
    using r = frame_route;
    for (frame_kind k : {frame_kind::call,
                         frame_kind::eval,
                         frame_kind::exec,
                         frame_kind::stats,
                         frame_kind::log_level,
                         frame_kind::call_ref,
                         frame_kind::drop_namespace}) {
        CHECK(dispatcher::route({k, any_channel, 7}) == r::executor);
        CHECK(dispatcher::route({k, 3, 7}) == r::mailbox);
    }
    // release owes no answer: an executor runs it; on a channel it is dropped.
    CHECK(dispatcher::route({frame_kind::release, any_channel, 7}) == r::executor);
    CHECK(dispatcher::route({frame_kind::release, 3, 7}) == r::reader);
    CHECK(dispatcher::route({frame_kind::result, 3, 7}) == r::answer);
    CHECK(dispatcher::route({frame_kind::result, 3, 0}) == r::reader); // aborts channel 3
    CHECK(dispatcher::route({frame_kind::result, any_channel, 7}) == r::reader);
    CHECK(dispatcher::route({frame_kind::cancel, any_channel, 7}) == r::reader);
    CHECK(dispatcher::route({frame_kind::cancel, 3, 7}) == r::reader);
    CHECK(dispatcher::route({frame_kind::reply, any_channel, 7}) == r::reader);
}

TEST_CASE("the frame codec accepts exactly the kinds the table sends to the port",
          "[dispatcher]") {
    for (unsigned k = 0; k < 256; ++k) {
        kind_role role = role_of(static_cast<frame_kind>(k));
        bool inbound = role == kind_role::request || role == kind_role::notice
                       || role == kind_role::result || role == kind_role::cancel;
        CHECK(is_inbound_kind(k) == inbound);
        CHECK((role == kind_role::unknown)
              == (std::string(kind_name(frame_kind(k))) == "unknown"));
        if (inbound) {
            CHECK(k < 64);
        }
    }
}

TEST_CASE("the dispatcher delivers an answer to its channel and aborts the channel on Ref 0",
          "[dispatcher]") {
    dispatcher_on_pipe p;
    auto &registry = channel_registry::instance();
    std::shared_ptr<channel> ch = registry.acquire();
    std::uint64_t since = ch->abort_epoch();

    p.d->handle(frame_of(frame_kind::result, ch->id(), 42));
    std::optional<wake> w = ch->poll(since);
    REQUIRE(w);
    REQUIRE(w->reason == wake_reason::frame);
    CHECK(w->received->header.ref == 42);
    CHECK(p.d->serve_while_waiting(*w->received, 42));       // the awaited answer
    CHECK_FALSE(p.d->serve_while_waiting(*w->received, 43)); // a stale one, dropped

    p.d->handle(frame_of(frame_kind::result, ch->id(), 0));
    w = ch->poll(since);
    REQUIRE(w);
    CHECK(w->reason == wake_reason::aborted);
    registry.release(ch);
}

TEST_CASE("a cancel for a request that is neither queued nor running is answered at once",
          "[dispatcher]") {
    // The process remembers the ref as cancelled early (a request with it
    // would be answered without running): a ref no other test sends.
    const ref_id unused = ref_id(1) << 60;
    dispatcher_on_pipe p;
    p.d->handle(frame_of(frame_kind::cancel, any_channel, unused));
    frame_header h = p.next_header();
    CHECK(h.kind == frame_kind::reply);
    CHECK(h.channel == any_channel);
    CHECK(h.ref == unused);
}
