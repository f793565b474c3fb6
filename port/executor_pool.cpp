// Leader/follower pool: one thread reads frames; it runs a request itself when a follower can take over reading.
#include "executor_pool.hpp"

#include "cancellation.hpp"
#include "channel.hpp"
#include "diagnostics.hpp"
#include "request_runner.hpp"

#include <Python.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace erlang_python {
namespace {

// Gives the executor thread a Python thread state for its whole life; the
// GIL is released between requests.
class python_thread_state {
public:
    python_thread_state() : gil_(PyGILState_Ensure()), state_(PyEval_SaveThread()) {}
    ~python_thread_state() {
        PyEval_RestoreThread(state_);
        PyGILState_Release(gil_);
    }

private:
    PyGILState_STATE gil_;
    PyThreadState *state_;
};

// How long one request may keep the reader parked before the watch takes
// the reading over (when the request blocks somewhere ensure_reader() is
// not called, or simply runs long).
constexpr std::chrono::milliseconds watch_period{5};

} // namespace

// One thread more than the executors asked for: a leader only runs a request
// itself when another thread can take over reading, so `threads` requests can
// run at once while frames for waiting Python threads keep being delivered.
executor_pool::executor_pool(frame_reader &reader,
                             frame_writer &writer,
                             std::size_t threads,
                             std::function<void()> on_input_end)
    : reader_(reader), writer_(writer), size_(threads + 1), on_input_end_(std::move(on_input_end)) {}

executor_pool::~executor_pool() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto &t : threads_) {
        if (t.joinable()) {
            t.detach();
        }
    }
}

// Two threads to begin with (a leader and one standing by, so requests run
// parked from the first one); more only when requests have to queue, up to
// the configured size. Idle ports stay small and start fast.
void executor_pool::start() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (std::size_t i = 0; i < std::min<std::size_t>(2, size_); ++i) {
        grow();
    }
}

void executor_pool::grow() {
    threads_.emplace_back([this] { thread_main(); });
}

void executor_pool::join() {
    // Threads are only added before input ends, all under the lock.
    std::size_t joined = 0;
    for (;;) {
        std::unique_lock<std::mutex> lock(mutex_);
        if (joined == threads_.size()) {
            if (input_ended_) {
                break;
            }
            input_end_.wait(lock);
            continue;
        }
        std::thread &t = threads_[joined++];
        lock.unlock();
        t.join();
    }
}

void executor_pool::thread_main() {
    python_thread_state python;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        if (!queue_.empty()) {
            frame f = std::move(queue_.front());
            queue_.pop_front();
            lock.unlock();
            run(f);
            lock.lock();
            continue;
        }
        if (input_ended_) {
            return;
        }
        if (!has_leader_ || (parked_ && takeover_)) {
            parked_ = false;
            parked_flag_ = false;
            takeover_ = false;
            has_leader_ = true;
            lead(lock);
            continue;
        }
        wait_idle(lock);
    }
}

void executor_pool::lead(std::unique_lock<std::mutex> &lock) {
    for (;;) {
        lock.unlock();
        std::optional<frame> f;
        try {
            f = reader_.next();
        } catch (const protocol_error &e) {
            diag("%s", e.what());
            std::_Exit(3); // Erlang reports the exit status; nothing can be trusted now
        }
        if (!f) {
            on_input_end_();
            channel_registry::instance().close_all();
            lock.lock();
            input_ended_ = true;
            has_leader_ = false;
            wake_.notify_all();
            input_end_.notify_all();
            return;
        }
        if (f->header.channel != any_channel || !is_request(f->header.kind)) {
            route(std::move(*f));
            lock.lock();
            continue;
        }
        lock.lock();
        if (idle_ == 0) {
            queue_.push_back(std::move(*f)); // nobody could take over: keep reading
            if (threads_.size() < size_) {
                grow(); // it takes the queued request
            }
            continue;
        }
        parked_ = true;
        parked_flag_ = true;
        std::uint64_t mine = ++park_count_;
        lock.unlock();
        run(*f);
        lock.lock();
        if (!parked_ || park_count_ != mine) {
            return; // another thread took the reading over
        }
        parked_ = false;
        parked_flag_ = false;
    }
}

void executor_pool::wait_idle(std::unique_lock<std::mutex> &lock) {
    ++idle_;
    if (watching_) {
        wake_.wait(lock);
        --idle_;
        return;
    }
    watching_ = true;
    bool was_parked = parked_;
    std::uint64_t seen = park_count_;
    wake_.wait_for(lock, watch_period);
    watching_ = false;
    --idle_;
    if (parked_ && was_parked && park_count_ == seen) {
        takeover_ = true; // one request has held the reader for a whole period
    }
    bool leaving = takeover_ || !queue_.empty() || !has_leader_ || input_ended_;
    if (leaving && idle_ > 0) {
        wake_.notify_one(); // someone else keeps the watch
    }
}

void executor_pool::ensure_reader() {
    if (!parked_flag_.load()) {
        return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (parked_ && !takeover_) {
        takeover_ = true;
        wake_.notify_one();
    }
}

void executor_pool::route(frame &&f) {
    if (f.header.kind == frame_kind::cancel) {
        // Every cancel is answered unless the request is running (then the
        // request itself answers): a queued request is dropped; a ref not
        // seen is done already or was never sent (its caller died between
        // registering and sending). Erlang drops answers it no longer needs,
        // and kills the port only for a cancelled request that stays silent.
        bool was_queued = false;
        frame_header queued = f.header;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            auto it = std::find_if(queue_.begin(), queue_.end(), [&](const frame &q) {
                return q.header.ref == f.header.ref;
            });
            if (it != queue_.end()) {
                queued = it->header;
                queue_.erase(it);
                was_queued = true;
            }
        }
        if (was_queued || !cancel_request(f.header.ref)) {
            try {
                reply_cancelled(queued, writer_);
            } catch (const std::exception &e) {
                diag("%s", e.what()); // only writing can fail: Erlang has gone away
                std::_Exit(4);
            }
        }
        return;
    }
    auto c = channel_registry::instance().find(f.header.channel);
    if (!c) {
        diag("dropped a %s frame for unknown channel %u",
             kind_name(f.header.kind),
             unsigned(f.header.channel));
        return;
    }
    if (f.header.kind == frame_kind::result && f.header.ref == 0) {
        c->abort(); // the thread's handler died: no result will come
        return;
    }
    c->deliver(std::move(f));
}

void executor_pool::run(const frame &f) {
    try {
        run_request(f, writer_);
    } catch (const std::exception &e) {
        // Only writing can fail here: Erlang has gone away.
        diag("%s", e.what());
        std::_Exit(4);
    }
}

} // namespace erlang_python
