// The executor pool's threads: started two at first, more while requests queue, extra ones leave when idle.
#include "runtime/executor_pool.hpp"

#include "wire/diagnostics.hpp"

#include <Python.h>
#include <algorithm>

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

} // namespace

// One thread more than the executors asked for: a leader only runs a request
// itself when another thread can take over reading, so `threads` requests can
// run at once while frames for waiting Python threads keep being delivered.
executor_pool::executor_pool(frame_reader &reader,
                             frame_writer &writer,
                             frame_handler handler,
                             sizing size,
                             std::function<void()> on_input_end)
    : reader_(reader), writer_(writer), handler_(handler), base_(size.threads + 1),
      max_(std::max(size.max_threads, size.threads) + 1), idle_exit_(size.idle_exit),
      on_input_end_(std::move(on_input_end)) {}

executor_pool::~executor_pool() {
    publish(nullptr);
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
    publish(this);
    std::lock_guard<std::mutex> lock(mutex_);
    for (std::size_t i = 0; i < std::min<std::size_t>(2, base_); ++i) {
        grow();
    }
}

void executor_pool::grow() {
    try {
        threads_.emplace_back([this] { thread_main(); });
    } catch (const std::system_error &e) {
        // Out of threads or address space (max_memory): the requests stay
        // queued for the threads there are.
        diag("cannot start another executor thread (%zu running): %s", live_, e.what());
        return;
    }
    ++live_;
    peak_ = std::max(peak_, live_);
}

bool executor_pool::leave_if_spare() {
    if (live_ <= base_ || !queue_.empty() || input_ended_ || (parked_ && takeover_)) {
        return false;
    }
    auto me = std::find_if(threads_.begin(), threads_.end(), [](const std::thread &t) {
        return t.get_id() == std::this_thread::get_id();
    });
    if (me != threads_.end()) { // else join() holds it and joins it
        me->detach();
        threads_.erase(me);
    }
    return true;
}

executor_pool::counts executor_pool::count() {
    std::lock_guard<std::mutex> lock(mutex_);
    return {live_, peak_, queue_.size()};
}

void executor_pool::join() {
    // Threads are only added before input ends, all under the lock; each is
    // taken out of the list before it is joined.
    for (;;) {
        std::unique_lock<std::mutex> lock(mutex_);
        if (threads_.empty()) {
            if (input_ended_ && live_ == 0) {
                break;
            }
            input_end_.wait(lock);
            continue;
        }
        std::thread t = std::move(threads_.front());
        threads_.pop_front();
        lock.unlock();
        t.join();
    }
}

void executor_pool::thread_main() {
    std::optional<python_thread_state> python(std::in_place);
    enter_pool_thread();
    std::unique_lock<std::mutex> lock(mutex_);
    // Counted out only once its Python thread state is gone, so that join()
    // (and Py_Finalize after it) waits for that too.
    struct leave {
        executor_pool &pool;
        std::unique_lock<std::mutex> &lock;
        ~leave() {
            --pool.live_;
            pool.input_end_.notify_all();
        }
    } on_return{*this, lock};
    for (;;) {
        if (owns_parked_reading()) {
            unpark(); // the reading it parked, back from a request
            lead(lock);
            continue;
        }
        // The reading before queued requests: a thread that comes free while
        // nobody reads (the reading parked with a takeover wanted, every
        // thread busy) reads first. Else, at max_executor_threads, the free
        // threads could all take queued requests that block (time.sleep)
        // while the cancels that would end them wait unread in the pipe:
        // the soak's grace kills with every executor in time.sleep.
        if (!input_ended_ && (!has_leader_ || (parked_ && takeover_))) {
            unpark();
            has_leader_ = true;
            lead(lock);
            continue;
        }
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
        if (wait_idle(lock) && leave_if_spare()) {
            // Idle past idle_exit with more threads than the base: leave.
            lock.unlock();
            python.reset();
            lock.lock();
            return;
        }
    }
}

std::size_t executor_pool::spare_idle() const {
    // Idle threads already woken for a queued request or a takeover still
    // count in idle_ until they run.
    std::size_t wanted = queue_.size() + ((parked_ && takeover_) ? 1 : 0);
    return idle_ > wanted ? idle_ - wanted : 0;
}

void executor_pool::wake_or_grow() {
    std::size_t wanted = queue_.size() + ((parked_ && takeover_) ? 1 : 0);
    if (idle_ >= wanted && idle_ > 0) {
        wake_.notify_one();
    } else if (live_ < max_) {
        grow();
    }
}

void executor_pool::enqueue(frame &&f) {
    queue_.push_back(std::move(f));
    wake_or_grow();
}

std::optional<frame_header> executor_pool::withdraw(ref_id ref) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = std::find_if(
        queue_.begin(), queue_.end(), [&](const frame &q) { return q.header.ref == ref; });
    if (it == queue_.end()) {
        return std::nullopt;
    }
    frame_header h = it->header;
    queue_.erase(it);
    return h;
}

} // namespace erlang_python
