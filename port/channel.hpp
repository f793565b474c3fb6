// Per-Python-thread channels: a private mailbox each, pooled and reused as threads come and go.
#pragma once

#include "frame_codec.hpp"

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace erlang_python {

// The mailbox of one Python thread: results of its callbacks and nested
// requests for it arrive here while it waits in erlang.call.
class channel {
public:
    explicit channel(channel_id id) : id_(id) {}

    channel_id id() const { return id_; }

    // Any thread. Queues a frame and wakes the owner.
    void deliver(frame &&f);
    // Releases nothing itself: call without the GIL. Blocks until a frame
    // arrives; returns nothing once the port is shutting down.
    std::optional<frame> wait();
    // Wakes every waiter for good (stdin closed).
    void close();
    // Drops queued frames (stale results) before the channel is reused.
    void clear();

private:
    channel_id id_;
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<frame> inbox_;
    bool closed_ = false;
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
