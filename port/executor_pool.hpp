// Leader/follower pool: one thread reads frames; it runs a request itself when a follower can take over reading.
#pragma once

#include "frame_io.hpp"

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace erlang_python {

// Threads take turns as the reader (the leader). A request for any executor
// is run on the thread that read it, without a hand-off, whenever an idle
// follower exists to become the next leader; otherwise it is queued and the
// leader keeps reading, so frames for waiting Python threads are always
// delivered even when every executor is busy.
class executor_pool {
public:
    // on_input_end runs once, on the reading thread, when stdin closes.
    executor_pool(frame_reader &reader,
                  frame_writer &writer,
                  std::size_t threads,
                  std::function<void()> on_input_end);
    ~executor_pool();

    void start();
    // Returns once input has ended and every queued request has been answered.
    void join();

private:
    void thread_main();
    // Reads and routes frames until one must run here; nothing at end of input.
    std::optional<frame> lead();
    void route(frame &&f);
    void run(const frame &f);

    frame_reader &reader_;
    frame_writer &writer_;
    std::size_t size_;
    std::function<void()> on_input_end_;
    std::vector<std::thread> threads_;

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<frame> queue_;
    std::size_t idle_ = 0;
    bool has_leader_ = false;
    bool input_ended_ = false;
};

} // namespace erlang_python
