// The requests running now, by ref, so that a cancel frame from Erlang can interrupt them.
#include "cancellation.hpp"

#include <Python.h>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace erlang_python {
namespace {

constexpr std::size_t max_early_cancels = 4096;

struct running_request {
    unsigned long thread_ident;
    channel *interrupt_point;
    bool cancelled;
};

struct registry {
    std::mutex mutex;
    std::unordered_map<ref_id, running_request> running;
    std::deque<ref_id> early_order; // oldest first, to bound early_refs
    std::unordered_set<ref_id> early_refs;
    bool stopped = false;
};

registry &the_registry() {
    static auto *r = new registry(); // leaked: detached threads may outlive main
    return *r;
}

thread_local request_scope *innermost = nullptr;

// Requires the GIL. Raises TimeoutError in the thread still running `ref`.
void raise_in_thread(ref_id ref) {
    registry &r = the_registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    auto it = r.running.find(ref);
    if (it != r.running.end() && it->second.cancelled && !r.stopped) {
        PyThreadState_SetAsyncExc(it->second.thread_ident, PyExc_TimeoutError);
    }
}

} // namespace

request_scope::request_scope(ref_id ref) : ref_(ref), outer_(innermost) {
    registry &r = the_registry();
    channel_ = &current_channel();
    std::lock_guard<std::mutex> lock(r.mutex);
    if (r.early_refs.erase(ref) != 0) {
        cancelled_early_ = true;
    }
    channel_->clear_interrupt();
    r.running[ref] = {PyThread_get_thread_ident(), channel_, cancelled_early_};
    innermost = this;
}

request_scope::~request_scope() {
    registry &r = the_registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    auto it = r.running.find(ref_);
    if (it != r.running.end()) {
        if (it->second.cancelled) {
            // The request ended before the exception fired: it must not
            // fire in whatever this thread runs next.
            PyThreadState_SetAsyncExc(it->second.thread_ident, nullptr);
            channel_->clear_interrupt();
        }
        r.running.erase(it);
    }
    innermost = outer_;
}

request_scope *request_scope::current() { return innermost; }

bool cancel_request(ref_id ref) {
    registry &r = the_registry();
    {
        std::lock_guard<std::mutex> lock(r.mutex);
        if (r.stopped) {
            return false;
        }
        auto it = r.running.find(ref);
        if (it == r.running.end()) {
            if (r.early_refs.insert(ref).second) {
                r.early_order.push_back(ref);
                if (r.early_order.size() > max_early_cancels) {
                    r.early_refs.erase(r.early_order.front());
                    r.early_order.pop_front();
                }
            }
            return false;
        }
        it->second.cancelled = true;
        it->second.interrupt_point->interrupt();
    }
    // Taking the GIL may wait for a busy thread: not on the reader's time.
    std::thread([ref] {
        PyGILState_STATE gil = PyGILState_Ensure();
        raise_in_thread(ref);
        PyGILState_Release(gil);
    }).detach();
    return true;
}

void stop_cancellations() {
    registry &r = the_registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    r.stopped = true;
}

} // namespace erlang_python
