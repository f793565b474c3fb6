// Catch2 tests of the runtime under real threads (channels, registry, frame writer, executor pool with cancels): what the TSan build runs.
#include "runtime/cancellation.hpp"
#include "runtime/channel.hpp"
#include "runtime/dispatcher.hpp"
#include "runtime/executor_pool.hpp"
#include "runtime/gil_jobs.hpp"
#include "wire/frame_io.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <ei.h>
#include <map>
#include <mutex>
#include <poll.h>
#include <pybind11/embed.h>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace erlang_python;
namespace py = pybind11;

namespace {

const std::string empty_list("\x83\x6a", 2); // 131, NIL_EXT: the term []

frame frame_for(channel_id ch, ref_id ref) {
    frame f;
    f.header = {frame_kind::result, ch, ref};
    return f;
}

// Reads whole frames from fd until `want` have arrived; fails after 60 s of
// silence instead of hanging.
std::vector<std::pair<frame_header, std::string>> read_frames(int fd, std::size_t want) {
    std::vector<std::pair<frame_header, std::string>> out;
    std::string buf;
    char chunk[65536];
    while (out.size() < want) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 60000) != 1) {
            break;
        }
        ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n <= 0) {
            break;
        }
        buf.append(chunk, std::size_t(n));
        // (parse_frame accepts only the kinds Erlang sends: read the prefix here.)
        while (buf.size() >= 4) {
            const auto *p = reinterpret_cast<const unsigned char *>(buf.data());
            std::size_t whole = 4
                                + (std::size_t(p[0]) << 24 | std::size_t(p[1]) << 16
                                   | std::size_t(p[2]) << 8 | std::size_t(p[3]));
            if (buf.size() < whole) {
                break;
            }
            out.emplace_back(decode_header(buf.data() + 4), buf.substr(17, whole - 17));
            buf.erase(0, whole);
        }
    }
    return out;
}

// {Code, #{}}: the body of an eval request.
std::string eval_body(const std::string &code) {
    ei_x_buff x;
    ei_x_new_with_version(&x);
    ei_x_encode_tuple_header(&x, 2);
    ei_x_encode_binary(&x, code.data(), int(code.size()));
    ei_x_encode_map_header(&x, 0);
    std::string s(x.buff, std::size_t(x.index));
    ei_x_free(&x);
    return s;
}

// The integer N of a reply {ok, N}; nothing for any other reply.
std::optional<long> ok_integer(const std::string &body) {
    int index = 0, version = 0, arity = 0;
    char atom[MAXATOMLEN_UTF8];
    long value = 0;
    if (ei_decode_version(body.data(), &index, &version) != 0
        || ei_decode_tuple_header(body.data(), &index, &arity) != 0 || arity != 2
        || ei_decode_atom(body.data(), &index, atom) != 0 || std::string(atom) != "ok"
        || ei_decode_long(body.data(), &index, &value) != 0) {
        return std::nullopt;
    }
    return value;
}

} // namespace

TEST_CASE(
    "a channel's owner receives every frame that four threads deliver, each sender's in order",
    "[threads][channel]") {
    channel ch(1);
    const int senders = 4, per_sender = 2000;
    std::vector<std::thread> threads;
    for (int s = 0; s < senders; ++s) {
        threads.emplace_back([&ch, s] {
            for (int i = 0; i < per_sender; ++i) {
                ch.deliver(frame_for(1, ref_id(s) << 32 | ref_id(i)));
            }
        });
    }
    std::vector<int> next(senders, 0);
    std::uint64_t since = ch.abort_epoch();
    for (int got = 0; got < senders * per_sender; ++got) {
        wake w = ch.wait(since);
        REQUIRE(w.reason == wake_reason::frame);
        int s = int(w.received->header.ref >> 32);
        int i = int(w.received->header.ref & 0xffffffff);
        REQUIRE(i == next[s]);
        ++next[s];
    }
    for (std::thread &t : threads) {
        t.join();
    }
    REQUIRE_FALSE(ch.poll(since).has_value());
}

TEST_CASE("interrupt, abort and close from other threads end a channel's waits",
          "[threads][channel]") {
    channel ch(1);
    std::uint64_t since = ch.abort_epoch();
    std::thread interrupter([&ch] { ch.interrupt(); });
    REQUIRE(ch.wait(since).reason == wake_reason::interrupted);
    interrupter.join();
    ch.clear_interrupt();

    std::thread aborter([&ch] { ch.abort(); });
    REQUIRE(ch.wait(since).reason == wake_reason::aborted);
    aborter.join();

    since = ch.abort_epoch();
    std::thread offerer([&ch] { ch.offer_lead(); });
    REQUIRE(ch.wait(since).reason == wake_reason::lead);
    offerer.join();
    REQUIRE(ch.take_offer()); // the offer stays until taken
    REQUIRE_FALSE(ch.take_offer());

    std::thread closer([&ch] { ch.close(); });
    REQUIRE(ch.wait(since).reason == wake_reason::closed);
    closer.join();
}

TEST_CASE("a channel's sleep_for is cut short by an interrupt from another thread",
          "[threads][channel]") {
    channel ch(1);
    std::atomic<bool> asleep{false};
    bool slept_whole = true;
    std::thread sleeper([&] {
        asleep = true;
        slept_whole = ch.sleep_for(60.0); // (Catch2's macros are for the main thread only)
    });
    while (!asleep) {
        std::this_thread::yield();
    }
    ch.interrupt(); // before or during the sleep: either way it ends at once
    sleeper.join();
    REQUIRE_FALSE(slept_whole);
}

TEST_CASE("threads taking and giving back channels never share one",
          "[threads][channel_registry]") {
    channel_registry &registry = channel_registry::instance();
    const std::size_t created_before = registry.created();
    std::mutex mutex;
    std::set<channel_id> held;
    std::atomic<int> shared{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 500; ++i) {
                std::shared_ptr<channel> c = registry.acquire();
                {
                    std::lock_guard<std::mutex> lock(mutex);
                    if (!held.insert(c->id()).second) {
                        ++shared;
                    }
                }
                c->deliver(frame_for(c->id(), 1));
                {
                    std::lock_guard<std::mutex> lock(mutex);
                    held.erase(c->id());
                }
                registry.release(c); // clears the stale frame
            }
        });
    }
    for (std::thread &t : threads) {
        t.join();
    }
    REQUIRE(shared == 0);
    REQUIRE(registry.created() - created_before <= 4); // reused: one per thread at most
}

TEST_CASE("frames sent from four threads through holds, releases and flushes all arrive whole",
          "[threads][frame_writer]") {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const int senders = 4, per_sender = 1000;
    std::vector<std::pair<frame_header, std::string>> got;
    std::thread reader([&] { got = read_frames(fds[0], std::size_t(senders * per_sender)); });
    {
        frame_writer w(fds[1]);
        std::atomic<bool> done{false};
        std::thread flusher([&] {
            while (!done) {
                w.flush();
                std::this_thread::yield();
            }
        });
        std::vector<std::thread> threads;
        for (int s = 0; s < senders; ++s) {
            threads.emplace_back([&w, s] {
                for (int i = 0; i < per_sender; ++i) {
                    // Sender 0 holds its replies in batches of 10, like a leader.
                    if (s == 0 && i % 10 == 0) {
                        w.hold();
                    }
                    frame_kind kind = (i % 7 == 0) ? frame_kind::callback : frame_kind::reply;
                    std::string f = encode_frame({kind, channel_id(s), ref_id(i)}, empty_list);
                    w.send(f.data(), f.size());
                    if (s == 0 && i % 10 == 9) {
                        w.release();
                    }
                }
            });
        }
        for (std::thread &t : threads) {
            t.join();
        }
        done = true;
        flusher.join();
        reader.join();
    }
    ::close(fds[0]);
    REQUIRE(got.size() == std::size_t(senders * per_sender));
    std::vector<int> next(senders, 0);
    for (auto &[h, body] : got) {
        REQUIRE(body == empty_list);
        REQUIRE(h.ref == ref_id(next[h.channel])); // each sender's frames in its order
        ++next[h.channel];
    }
}

TEST_CASE("the executor pool answers 2,000 requests read and run on real threads, and a cancel",
          "[threads][executor_pool]") {
    int in[2], out[2];
    REQUIRE(::pipe(in) == 0);
    REQUIRE(::pipe(out) == 0);
    const ref_id spinning = 1;
    const int requests = 2000;
    std::vector<std::pair<frame_header, std::string>> got;
    std::thread collector([&] { got = read_frames(out[0], std::size_t(requests + 1)); });
    {
        frame_reader reader(in[0], 1 << 20);
        frame_writer writer(out[1]);
        options config;
        dispatcher dispatch(config, writer);
        py::gil_scoped_release release;
        executor_pool pool(reader,
                           writer,
                           dispatch.handler(),
                           executor_pool::sizing{4, 4, std::chrono::milliseconds(30000)},
                           [] {});
        dispatch.attach(&pool);
        pool.start();
        auto write_frame = [&](frame_kind kind, ref_id ref, const std::string &body) {
            std::string f = encode_frame({kind, 0, ref}, body);
            REQUIRE(::write(in[1], f.data(), f.size()) == ssize_t(f.size()));
        };
        // Runs until cancelled: a generator is bytecode, so the TimeoutError lands.
        write_frame(frame_kind::eval, spinning, eval_body("sum(1 for _ in iter(int, 1))"));
        for (int i = 0; i < requests; ++i) {
            write_frame(frame_kind::eval, ref_id(i + 2), eval_body(std::to_string(i) + " * 2"));
        }
        write_frame(frame_kind::cancel, spinning, std::string("\x83\x68\x00", 3));
        ::close(in[1]);
        pool.join();
        dispatch.attach(nullptr);
        collector.join();
    }
    ::close(out[0]);
    REQUIRE(got.size() == std::size_t(requests + 1));
    std::map<ref_id, std::string> replies;
    for (auto &[h, body] : got) {
        REQUIRE(h.kind == frame_kind::reply);
        REQUIRE(replies.emplace(h.ref, body).second); // one reply per request
    }
    for (int i = 0; i < requests; ++i) {
        REQUIRE(ok_integer(replies.at(ref_id(i + 2))) == std::optional<long>(i * 2));
    }
    REQUIRE_FALSE(ok_integer(replies.at(spinning)).has_value()); // an error: cancelled
}

namespace {

// What the GIL-job test's jobs saw: how many ran, on which threads, with
// the GIL or without, and each producer's refs in the order they ran.
struct gil_job_log {
    std::mutex mutex;
    std::condition_variable done;
    std::set<std::thread::id> threads;
    std::map<ref_id, std::vector<ref_id>> order; // producer -> its refs
    int ran = 0;
    int without_gil = 0;
};

gil_job_log job_log;

void record_job(ref_id ref) {
    std::lock_guard<std::mutex> lock(job_log.mutex);
    job_log.threads.insert(std::this_thread::get_id());
    job_log.order[ref >> 32].push_back(ref);
    job_log.without_gil += PyGILState_Check() ? 0 : 1;
    if (++job_log.ran == 10000) {
        job_log.done.notify_all();
    }
}

} // namespace

TEST_CASE("10,000 jobs queued from four threads all run, in order, with the GIL, on one thread",
          "[threads][gil_jobs]") {
    py::gil_scoped_release release;
    std::vector<std::thread> producers;
    for (ref_id p = 0; p < 4; ++p) {
        producers.emplace_back([p] {
            for (ref_id i = 0; i < 2500; ++i) {
                run_with_gil(record_job, p << 32 | i);
            }
        });
    }
    for (std::thread &t : producers) {
        t.join();
    }
    std::unique_lock<std::mutex> lock(job_log.mutex);
    REQUIRE(job_log.done.wait_for(
        lock, std::chrono::seconds(60), [] { return job_log.ran == 10000; }));
    REQUIRE(job_log.without_gil == 0);
    REQUIRE(job_log.threads.size() == 1); // one GIL-job thread, not a thread per job
    REQUIRE(job_log.threads.count(std::this_thread::get_id()) == 0);
    for (ref_id p = 0; p < 4; ++p) {
        const std::vector<ref_id> &refs = job_log.order[p];
        REQUIRE(refs.size() == 2500);
        for (ref_id i = 0; i < 2500; ++i) {
            REQUIRE(refs[i] == (p << 32 | i));
        }
    }
}
