// Catch2 tests of frame_reader over a real pipe: frame sizes around the read-ahead, large frames, truncation.
#include "wire/frame_io.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <sched.h>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace erlang_python;
using Catch::Matchers::Contains;

namespace {

// A call frame with a body of n bytes, each a function of its position and seed.
std::string make_body(std::size_t n, unsigned seed) {
    std::string body(n, '\0');
    for (std::size_t i = 0; i < n; ++i) {
        body[i] = char((i * 131 + seed * 7 + (i >> 12)) & 0xff);
    }
    return body;
}

std::string call_frame(const std::string &body, ref_id ref) {
    return encode_frame({frame_kind::call, 3, ref}, body);
}

// Writes the pieces to a pipe from another thread (a pause between pieces,
// so each tends to arrive in a read of its own), then closes it; reads
// frames until the end of input or an error. Returns the frames read and
// the error message, if any.
struct read_outcome {
    std::vector<frame> frames;
    std::string error;
};

read_outcome
read_stream(const std::vector<std::string> &pieces, std::size_t max_frame, bool spin = false) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    std::thread writer([&pieces, fd = fds[1]] {
        for (const std::string &piece : pieces) {
            std::size_t done = 0;
            while (done < piece.size()) {
                ssize_t n = ::write(fd, piece.data() + done, piece.size() - done);
                if (n <= 0) {
                    break; // the reader has gone
                }
                done += std::size_t(n);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        ::close(fd);
    });
    read_outcome out;
    {
        frame_reader reader(fds[0], max_frame);
        try {
            while (auto f = reader.next(spin)) {
                out.frames.push_back(std::move(*f));
            }
        } catch (const protocol_error &e) {
            out.error = e.what();
        }
    } // closes the read end, so a blocked writer returns
    writer.join();
    return out;
}

void check_frame(const frame &f, const std::string &body, ref_id ref) {
    CHECK(f.header.kind == frame_kind::call);
    CHECK(f.header.channel == 3);
    CHECK(f.header.ref == ref);
    REQUIRE(f.body_size == body.size());
    CHECK(std::string(f.body(), f.body_size) == body);
}

constexpr std::size_t read_ahead = 256 * 1024; // frame_io.cpp's buffer

} // namespace

TEST_CASE("frame reader reads frames of every size around its read-ahead", "[frame_io]") {
    std::vector<std::size_t> sizes{1,
                                   2,
                                   100,
                                   read_ahead - 18,
                                   read_ahead - 17,
                                   read_ahead - 16,
                                   read_ahead,
                                   read_ahead + 1,
                                   3 * read_ahead + 5,
                                   1,
                                   std::size_t(9u << 20),
                                   7};
    std::string stream;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        stream += call_frame(make_body(sizes[i], unsigned(i)), i + 1);
    }
    // All in one go, and cut into pieces at awkward places.
    std::vector<std::vector<std::string>> splits{{stream}};
    std::vector<std::string> pieces;
    for (std::size_t at = 0, step = 3; at < stream.size(); at += step, step = step * 7 + 1) {
        pieces.push_back(stream.substr(at, step));
    }
    splits.push_back(pieces);
    for (const auto &split : splits) {
        read_outcome out = read_stream(split, 64u << 20);
        CHECK(out.error.empty());
        REQUIRE(out.frames.size() == sizes.size());
        for (std::size_t i = 0; i < sizes.size(); ++i) {
            check_frame(out.frames[i], make_body(sizes[i], unsigned(i)), i + 1);
        }
    }
}

TEST_CASE("frame reader accepts a frame of exactly the maximum size", "[frame_io]") {
    const std::size_t max_frame = 5u << 20;
    std::string body = make_body(max_frame - header_size, 1);
    read_outcome out = read_stream({call_frame(body, 9), call_frame("x", 10)}, max_frame);
    CHECK(out.error.empty());
    REQUIRE(out.frames.size() == 2);
    check_frame(out.frames[0], body, 9);
    check_frame(out.frames[1], "x", 10);
}

TEST_CASE("frame reader rejects a frame one byte over the maximum size", "[frame_io]") {
    const std::size_t max_frame = 5u << 20;
    std::string frame = call_frame(make_body(max_frame - header_size + 1, 1), 9);
    read_outcome out = read_stream({frame}, max_frame);
    CHECK(out.frames.empty());
    CHECK_THAT(out.error, Contains("maximum frame size"));
}

TEST_CASE("frame reader reports input that ends inside a large frame", "[frame_io]") {
    std::string small = call_frame("ok", 1);
    std::string large = call_frame(make_body(3u << 20, 2), 2);
    for (std::size_t cut : {std::size_t(2),
                            std::size_t(4),
                            std::size_t(5),
                            std::size_t(17),
                            std::size_t(18),
                            read_ahead,
                            large.size() / 2,
                            large.size() - 1}) {
        read_outcome out = read_stream({small, large.substr(0, cut)}, 64u << 20);
        REQUIRE(out.frames.size() == 1);
        check_frame(out.frames[0], "ok", 1);
        CHECK_THAT(out.error, Contains("input ended inside a frame"));
    }
}

TEST_CASE("frame reader checks the kind of a large frame before reading it", "[frame_io]") {
    std::string large = call_frame(make_body(3u << 20, 2), 2);
    large[4] = char(200); // not a kind Erlang sends
    // The length prefix alone first: the kind is not there yet.
    read_outcome out = read_stream({large.substr(0, 4), large.substr(4)}, 64u << 20);
    CHECK(out.frames.empty());
    CHECK_THAT(out.error, Contains("unknown frame kind"));
}

TEST_CASE("frame reader ends cleanly on an empty input", "[frame_io]") {
    read_outcome out = read_stream({}, 1024);
    CHECK(out.frames.empty());
    CHECK(out.error.empty());
}

TEST_CASE("a polling read gets every frame, whether it comes during the poll or after it",
          "[frame_io]") {
    // The 20 ms between pieces outlast the poll: the later pieces are read
    // by the blocking read that follows it, a large frame's rest as well.
    std::string large = call_frame(make_body(3u << 20, 4), 2);
    read_outcome out = read_stream(
        {call_frame("a", 1), large.substr(0, 1000), large.substr(1000), call_frame("b", 3)},
        64u << 20,
        /*spin=*/true);
    REQUIRE(out.frames.size() == 3);
    check_frame(out.frames[0], "a", 1);
    check_frame(out.frames[1], make_body(3u << 20, 4), 2);
    check_frame(out.frames[2], "b", 3);
    CHECK(out.error.empty());
}

TEST_CASE("a reader polls before blocking only where the process may use several CPUs",
          "[frame_io]") {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    ::close(fds[1]);
    cpu_set_t all;
    REQUIRE(sched_getaffinity(0, sizeof all, &all) == 0);
    int first = 0;
    while (!CPU_ISSET(first, &all)) {
        ++first;
    }
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0); // like taskset -c N
    {
        frame_reader pinned(::dup(fds[0]), 1024);
        CHECK(pinned.spin().count() == 0);
    }
    REQUIRE(sched_setaffinity(0, sizeof all, &all) == 0);
    frame_reader unpinned(fds[0], 1024);
    CHECK((unpinned.spin().count() > 0) == (CPU_COUNT(&all) > 1));
}
