// Leader/follower pool: one thread reads frames; it runs a request itself when a follower can take over reading.
#pragma once

#include "runtime/channel.hpp"
#include "runtime/frame_handler.hpp"
#include "wire/frame_io.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace erlang_python {

// Threads take turns as the reader (the leader). A request for any executor
// runs on the thread that read it, with no hand-off and no wake-up: the
// leader "parks" its reading while it runs the request and resumes reading
// afterwards. Parking needs an idle thread standing by. That thread takes
// the reading over when the request blocks in time.sleep (ensure_reader()),
// or, as a watch, when the same request has kept the reader parked for a
// whole watch period (it blocked elsewhere, or runs long). With no idle
// thread the leader queues requests and keeps reading, so frames for
// waiting Python threads are always delivered even when every executor is
// busy.
//
// A parked reading has an owner: the pool thread that parked it, which
// resumes it when its request is done.
//
// A thread waiting in erlang.call (await_frame) is a reader too: when the
// reading is parked it takes it and reads the pipe itself, so its result
// needs no hand-off; requests for channel 0 it reads are queued for the
// pool, frames for other channels delivered to their mailboxes. With its
// frame in hand it parks the reading again, as its owner: its next
// erlang.call (or, on a pool thread, the end of its request) resumes it; the
// watch takes it over if it stays away, and it is handed on when the thread
// exits. When other erlang.calls wait, or no idle thread stands by, it is
// handed on at once: to a waiting erlang.call, else to an idle pool thread,
// else to the first pool thread that comes free (before queued requests).
// A leader that parks offers the reading to a waiting erlang.call too, so
// waiters never depend on a parked request. A leader that reads the result
// of the only waiting erlang.call parks the reading for that thread and
// goes idle: after one hand-off the waiter reads its results itself again.
//
// Batches: while more whole frames are buffered, the leader holds its
// replies back in the writer and sends them in one write once the buffer
// runs dry (or before it may block); while requests keep arriving in
// batches it runs as SCHED_BATCH, so its wake-up does not preempt the
// Erlang VM on a shared CPU and the next batch arrives whole.
//
// The pool knows nothing of frame kinds: its frame handler (the
// dispatcher) says where each frame goes (frame_handler.hpp) and runs the
// requests. Its code is in four files, one job each:
//   executor_pool.cpp      the threads: start, grow while work queues, leave when idle, join
//   reader_leadership.cpp  who reads the pipe: lead, park, hand off, erlang.call waiters reading
//   pool_watch.cpp         the watch: a parked reading taken over after a period; idle timeouts
//   reply_batching.cpp     a batch's replies held back and written in one go
class executor_pool {
public:
    // How many threads run requests: `threads` stay; up to `max_threads`
    // run at once while requests queue behind busy or blocked ones (a
    // thread sleeping in Python, waiting on a socket or in erlang.call is
    // busy); a thread beyond `threads` exits after `idle_exit` without work.
    struct sizing {
        std::size_t threads = 8;
        std::size_t max_threads = 256;
        std::chrono::milliseconds idle_exit{30000};
    };
    // `handler` decides what each frame read is and runs the requests;
    // on_input_end runs once, on the reading thread, when stdin closes
    // (after handler.input_ended).
    executor_pool(frame_reader &reader,
                  frame_writer &writer,
                  frame_handler handler,
                  sizing size,
                  std::function<void()> on_input_end);
    ~executor_pool();

    void start();
    // Any thread, without the GIL, before blocking on Erlang: if the leader
    // is parked running a request, another thread takes over reading.
    void ensure_reader();
    // Without the GIL, on the thread that owns `ch`: the next frame for it
    // (or why none will come), reading the pipe itself while nobody else
    // reads. Never returns wake_reason::lead.
    wake await_frame(channel &ch, std::uint64_t since);
    // A thread outside the pool, as it exits: a parked reading it owns is
    // handed on.
    void disown();
    // Returns once input has ended and every queued request has been answered.
    void join();
    // How often a thread waiting in erlang.call found the reading parked
    // for a whole watch period and took it over (py:stats(), port section).
    std::uint64_t stalls() const { return stalls_.load(); }
    // For py:stats(): threads running now and at most so far (the reader
    // included), and requests waiting for a thread.
    struct counts {
        std::size_t threads;
        std::size_t peak_threads;
        std::size_t queued;
    };
    counts count();
    // Takes a queued frame with this ref out of the queue (a cancel for a
    // request that has not started): its header, or nothing if none is queued.
    std::optional<frame_header> withdraw(ref_id ref);

    // How long one request may keep the reader parked before the watch
    // takes the reading over, and how long an erlang.call waiter waits
    // before it looks at the reading again.
    static constexpr std::chrono::milliseconds watch_period{5};
    // Watch periods with nothing parked before the watch goes dormant (100 ms).
    static constexpr unsigned dormant_after = 20;

private:
    // reader_leadership.cpp: the pool threads leaving the process tell (or
    // none); the calling thread is one of the pool's; requires the lock: the
    // calling thread parked the reading and comes back for it.
    static void publish(executor_pool *pool);
    static void enter_pool_thread();
    bool owns_parked_reading() const;

    void thread_main();
    void grow(); // requires the lock
    // Requires the lock: the calling thread, idle past idle_exit, leaves the
    // pool when more than the base number of threads run. True if it left.
    bool leave_if_spare();
    // Reads, routes and runs frames while this thread is the leader. Called
    // and returns with the lock held.
    void lead(std::unique_lock<std::mutex> &lock);
    // Requires the lock: waits for work. True when this thread, one beyond
    // the base number, found none for idle_exit (it may leave then).
    bool wait_idle(std::unique_lock<std::mutex> &lock);
    // Without the lock: runs a request, or hands a frame to the handler.
    void run(const frame &f) { handler_.run(handler_.context, f); }
    void handle(frame &&f) { handler_.handle(handler_.context, std::move(f)); }
    // Reads the next frame; on end of input, ends it and returns nothing.
    // `spin`: poll briefly before blocking (frame_reader::next).
    std::optional<frame> read_frame(bool spin);
    // Requires the lock: stdin closed (read_frame saw it).
    void end_input(std::unique_lock<std::mutex> &lock);
    // Requires the lock: the reading is parked and its parker will not come
    // back for it: a waiting erlang.call, else an idle thread, takes it over.
    void hand_off();
    // Requires the lock: a request nobody runs yet; an idle thread takes it.
    void enqueue(frame &&f);
    // Require the lock: idle threads not already woken for queued work; wake
    // one for new work, or start one when none is left.
    std::size_t spare_idle() const;
    void wake_or_grow();
    // Requires the lock: the reading stops until `owner` (a pool thread, or
    // null for none) resumes it or another thread takes it over.
    void park(const void *owner);
    // Requires the lock: the calling thread reads from now on.
    void unpark();

    frame_reader &reader_;
    frame_writer &writer_;
    frame_handler handler_;
    std::size_t base_; // threads that stay (one more than asked: see start())
    std::size_t max_;  // threads at most
    std::chrono::milliseconds idle_exit_;
    std::function<void()> on_input_end_;
    // Started and not yet taken by join(); a thread leaving early takes
    // itself out (detached), so the list holds no finished threads.
    std::list<std::thread> threads_;
    std::size_t live_ = 0; // threads running thread_main
    std::size_t peak_ = 0;

    std::mutex mutex_;
    std::condition_variable wake_;      // pool threads only: a notify_one must reach one
    std::condition_variable input_end_; // join() waits here
    std::deque<frame> queue_;
    struct follower {
        channel *ch;
        const void *thread;
    };
    std::vector<follower> followers_; // erlang.call waiters on their mailboxes
    const void *parker_ = nullptr;    // the owner of a parked reading
    std::size_t idle_ = 0;
    bool has_leader_ = false;              // a thread owns the reading (it may be parked)
    bool parked_ = false;                  // the leader runs a request: nobody reads now
    std::atomic<bool> parked_flag_{false}; // parked_, for ensure_reader's fast path
    std::uint64_t park_count_ = 0;
    bool takeover_ = false; // an idle thread must take the parked reading over
    bool watching_ = false; // an idle thread waits with a timeout, as the watch
    // The watch sleeps without a timeout once nothing has been parked for a
    // while (an idle port does not wake every watch period); park() wakes it.
    bool dormant_ = false;
    unsigned quiet_periods_ = 0;
    bool input_ended_ = false;
    std::atomic<std::uint64_t> stalls_{0};
};

} // namespace erlang_python
