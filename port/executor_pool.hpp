// Leader/follower pool: one thread reads frames; it runs a request itself when a follower can take over reading.
#pragma once

#include "frame_io.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace erlang_python {

// Threads take turns as the reader (the leader). A request for any executor
// runs on the thread that read it, with no hand-off and no wake-up: the
// leader "parks" its reading while it runs the request and resumes reading
// afterwards. Parking needs an idle thread standing by. That thread takes
// the reading over when the request blocks waiting for Erlang (erlang.call
// and time.sleep call ensure_reader()), or, as a watch, when the same
// request has kept the reader parked for a whole watch period (it blocked
// elsewhere, or runs long). With no idle thread the leader queues requests
// and keeps reading, so frames for waiting Python threads are always
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
    // Any thread, without the GIL, before blocking on Erlang: if the leader
    // is parked running a request, another thread takes over reading.
    void ensure_reader();
    // Returns once input has ended and every queued request has been answered.
    void join();

private:
    void thread_main();
    void grow(); // requires the lock
    // Reads, routes and runs frames while this thread is the leader. Called
    // and returns with the lock held.
    void lead(std::unique_lock<std::mutex> &lock);
    void wait_idle(std::unique_lock<std::mutex> &lock);
    void route(frame &&f);
    void run(const frame &f);

    frame_reader &reader_;
    frame_writer &writer_;
    std::size_t size_;
    std::function<void()> on_input_end_;
    std::deque<std::thread> threads_; // a deque: join() holds references while it grows

    std::mutex mutex_;
    std::condition_variable wake_;      // pool threads only: a notify_one must reach one
    std::condition_variable input_end_; // join() waits here
    std::deque<frame> queue_;
    std::size_t idle_ = 0;
    bool has_leader_ = false;  // a thread owns the reading (it may be parked)
    bool parked_ = false;      // the leader runs a request: nobody reads now
    std::atomic<bool> parked_flag_{false}; // parked_, for ensure_reader's fast path
    std::uint64_t park_count_ = 0;
    bool takeover_ = false;    // an idle thread must take the parked reading over
    bool watching_ = false;    // an idle thread waits with a timeout, as the watch
    bool input_ended_ = false;
};

} // namespace erlang_python
