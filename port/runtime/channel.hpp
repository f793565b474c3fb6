// Per-Python-thread channels: a private mailbox each, pooled and reused as threads come and go.
#pragma once

#include "wire/frame_codec.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace erlang_python {

// Why channel::wait returned.
enum class wake_reason {
    frame,       // a frame arrived
    closed,      // the port is shutting down
    interrupted, // the request this thread runs was cancelled (timeout)
    aborted,     // the thread's Erlang handler died
    lead,        // the executor pool offers this waiter the reading (nobody reads now)
};

struct wake {
    wake_reason reason;
    std::optional<frame> received;
};

// The mailbox of one Python thread: results of its callbacks and nested
// requests for it arrive here while it waits in erlang.call. It is also the
// thread's interruption point while it runs a request from Erlang.
class channel {
public:
    explicit channel(channel_id id) : id_(id) {}

    channel_id id() const { return id_; }

    // Any thread. Queues a frame and wakes the owner.
    void deliver(frame &&f);
    // The owner, which read `f` for itself: what wait(since) would return
    // once `f` were delivered, without queueing it when nothing comes first.
    wake accept(frame &&f, std::uint64_t since);
    // Call without the GIL. Blocks until a frame arrives, the channel is
    // interrupted or closed, or it is aborted after abort_epoch() was `since`.
    wake wait(std::uint64_t since);
    // Like wait(), but gives up after `timeout`: nothing then.
    std::optional<wake> wait_for(std::uint64_t since, std::chrono::milliseconds timeout);
    // Any thread. What wait() would return now, without blocking; nothing
    // when it would block. Never returns wake_reason::lead.
    std::optional<wake> poll(std::uint64_t since);
    // Any thread. Ends the owner's wait() with wake_reason::lead (unless
    // something else ends it first); take_offer() clears it.
    void offer_lead();
    // True if an offer was pending; clears it.
    bool take_offer();
    // Call without the GIL. Sleeps up to `seconds`; false if interrupted.
    bool sleep_for(double seconds);
    // Wakes every waiter for good (stdin closed).
    void close();
    // Drops queued frames (stale results) before the channel is reused.
    void clear();

    void interrupt();
    void clear_interrupt();
    bool interrupted();
    // Ends every wait in progress on this channel (the handler died).
    void abort();
    std::uint64_t abort_epoch();

private:
    channel_id id_;
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<frame> inbox_;
    bool closed_ = false;
    bool interrupted_ = false;
    bool lead_offered_ = false;
    // Changed under mutex_ (waiters see it with their wake); read without it.
    std::atomic<std::uint64_t> abort_epoch_{0};

    // Require the lock. What ends a wait now: ready_wake() is all but a
    // lead offer; next_wake() adds the offer.
    std::optional<wake> ready_wake(std::uint64_t since);
    std::optional<wake> next_wake(std::uint64_t since);
};

// Owns every channel; hands free ones to threads. Lives until process exit
// (thread-exit destructors may release channels late).
class channel_registry {
public:
    static channel_registry &instance();

    std::shared_ptr<channel> acquire();
    void release(const std::shared_ptr<channel> &c);
    // Null when no channel has that id.
    std::shared_ptr<channel> find(channel_id id);
    void close_all();

    std::size_t created();
    std::size_t in_use();

private:
    std::mutex mutex_;
    std::vector<std::shared_ptr<channel>> all_; // index = id - 1
    std::vector<channel_id> free_;
    bool closed_ = false;
};

// The calling thread's channel, acquired on first use and given back when
// the thread exits (a thread_local RAII lease). Never touches Python.
channel &current_channel();

} // namespace erlang_python
