// Catch2 tests of frame_writer's held replies and frame_reader::has_frame, over a real pipe.
#include "wire/frame_io.hpp"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <string>
#include <thread>
#include <unistd.h>

using namespace erlang_python;

namespace {

const std::string small_body("\x83\x6a", 2); // 131, NIL_EXT: the term []

// Both ends of a pipe; the read end non-blocking so a test can see "nothing yet".
struct test_pipe {
    int fds[2] = {-1, -1};
    test_pipe() {
        REQUIRE(::pipe(fds) == 0);
        REQUIRE(::fcntl(fds[0], F_SETFL, O_NONBLOCK) == 0);
    }
    ~test_pipe() {
        if (fds[0] >= 0) {
            ::close(fds[0]);
        }
    }
    // Everything written so far (the writer's fd is owned by frame_writer).
    std::string drain() {
        std::string out;
        char buf[4096];
        for (;;) {
            ssize_t n = ::read(fds[0], buf, sizeof buf);
            if (n <= 0) {
                return out;
            }
            out.append(buf, std::size_t(n));
        }
    }
};

std::string frame_of(frame_kind kind, ref_id ref) {
    return encode_frame({kind, 1, ref}, small_body);
}

// A writer on a fresh pipe, and two reply frames to send through it.
struct writer_fixture {
    test_pipe p;
    frame_writer w{p.fds[1]};
    std::string a = frame_of(frame_kind::reply, 1);
    std::string b = frame_of(frame_kind::reply, 2);
};

} // namespace

TEST_CASE_METHOD(writer_fixture, "frame_writer writes at once without a hold", "[frame_writer]") {
    w.send(a.data(), a.size());
    CHECK(p.drain() == a);
}

TEST_CASE_METHOD(writer_fixture,
                 "frame_writer holds the holder's replies until release",
                 "[frame_writer]") {
    w.hold();
    w.send(a.data(), a.size());
    w.send(b.data(), b.size());
    CHECK(p.drain().empty());
    w.release();
    CHECK(p.drain() == a + b);
    // The hold is over: the next reply goes at once.
    w.send(a.data(), a.size());
    CHECK(p.drain() == a);
}

TEST_CASE_METHOD(writer_fixture,
                 "frame_writer sends other frames at once, with the held replies before them",
                 "[frame_writer]") {
    std::string c = frame_of(frame_kind::callback, 2);
    w.hold();
    w.send(a.data(), a.size());
    w.send(c.data(), c.size()); // a callback must never wait: its thread waits for the answer
    CHECK(p.drain() == a + c);
    w.release();
    CHECK(p.drain().empty());
}

TEST_CASE_METHOD(writer_fixture,
                 "frame_writer writes other threads' replies at once during a hold",
                 "[frame_writer]") {
    w.hold();
    w.send(a.data(), a.size());
    std::thread other([&] { w.send(b.data(), b.size()); });
    other.join();
    CHECK(p.drain() == a + b);
    w.release();
}

TEST_CASE_METHOD(writer_fixture,
                 "frame_writer flush writes held replies from another thread",
                 "[frame_writer]") {
    w.hold();
    w.send(a.data(), a.size());
    std::thread watch([&] { w.flush(); });
    watch.join();
    CHECK(p.drain() == a);
    w.send(b.data(), b.size()); // still held: flush leaves the hold in place
    CHECK(p.drain().empty());
    w.release();
    CHECK(p.drain() == b);
}

TEST_CASE("frame_reader has_frame says whether a whole frame is buffered", "[frame_reader]") {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    frame_reader r(fds[0], 1 << 20);
    CHECK_FALSE(r.has_frame());
    std::string a = encode_frame({frame_kind::call, 0, 1}, small_body);
    std::string b = encode_frame({frame_kind::call, 0, 2}, small_body);
    std::string both = a + b + b.substr(0, 5); // and the start of a third
    REQUIRE(::write(fds[1], both.data(), both.size()) == ssize_t(both.size()));
    auto f = r.next();
    REQUIRE(f);
    CHECK(f->header.ref == 1);
    CHECK(r.has_frame());
    f = r.next();
    REQUIRE(f);
    CHECK(f->header.ref == 2);
    CHECK_FALSE(r.has_frame()); // only part of the third
    ::close(fds[1]);
}
