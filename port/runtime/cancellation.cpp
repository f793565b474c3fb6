// The requests running now, by ref, so that a cancel frame from Erlang can interrupt them.
#include "runtime/cancellation.hpp"

#include "runtime/gil_jobs.hpp"

#include <Python.h>
#include <csignal>
#include <deque>
#include <mutex>
#include <pthread.h>
#include <unordered_set>

namespace erlang_python {

// The running requests' scopes, newest first, linked through the scopes
// themselves: at most one per thread and nesting level, so a linear search
// by ref is short.
struct scope_list {
    request_scope *head = nullptr;

    void push(request_scope *s) {
        s->prev_ = nullptr;
        s->next_ = head;
        if (head != nullptr) {
            head->prev_ = s;
        }
        head = s;
    }
    void remove(request_scope *s) {
        (s->prev_ != nullptr ? s->prev_->next_ : head) = s->next_;
        if (s->next_ != nullptr) {
            s->next_->prev_ = s->prev_;
        }
    }
    request_scope *find(ref_id ref) const {
        for (request_scope *s = head; s != nullptr; s = s->next_) {
            if (s->ref_ == ref) {
                return s;
            }
        }
        return nullptr;
    }
    // Cancels s: wakes its wait (erlang.call, time.sleep).
    static void mark(request_scope *s) {
        s->cancelled_ = true;
        s->channel_->interrupt();
    }
    static bool cancelled(const request_scope *s) { return s->cancelled_; }
    static bool delivered(const request_scope *s) { return s->delivered_; }
    static unsigned long thread(const request_scope *s) { return s->thread_ident_; }
    static pthread_t pthread(const request_scope *s) { return s->pthread_; }
};

namespace {

constexpr std::size_t max_early_cancels = 4096;

struct registry {
    std::mutex mutex;
    scope_list running;
    std::deque<ref_id> early_order; // oldest first, to bound early_refs
    std::unordered_set<ref_id> early_refs;
    bool stopped = false;
};

registry &the_registry() {
    static auto *r = new registry(); // leaked: detached threads may outlive main
    return *r;
}

thread_local request_scope *innermost = nullptr;

// Its handler does nothing: the signal is there to end a blocking system
// call in the thread it is sent to. Installed without SA_RESTART, the call
// fails with EINTR; C code that then returns to Python (a ctypes call of
// libc's sleep, pause, read...) reaches the next bytecode, where the pending
// TimeoutError fires. CPython's own blocking calls (time.sleep, select,
// socket and file reads, lock waits) retry after EINTR (PEP 475): outside
// the main thread their PyErr_CheckSignals() returns 0, so they stay
// blocked, and cancel_grace still kills the port for them (docs/faults.md).
void on_interrupt_signal(int) {}

void install_interrupt_signal() {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction action {};
        action.sa_handler = on_interrupt_signal;
        sigemptyset(&action.sa_mask);
        action.sa_flags = 0; // no SA_RESTART: that is the point
        ::sigaction(interrupt_signal(), &action, nullptr);
    });
}

// Requires the GIL. Raises TimeoutError in the thread still running `ref`,
// and interrupts the system call that thread may be blocked in. Under the
// registry's lock the scope is alive, so the signal lands while the thread
// runs the request (at worst in the scope's destructor, waiting for this
// lock: the futex wait is retried).
void raise_in_thread(ref_id ref) {
    registry &r = the_registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    request_scope *s = r.running.find(ref);
    if (s != nullptr && scope_list::cancelled(s) && !scope_list::delivered(s) && !r.stopped) {
        PyThreadState_SetAsyncExc(scope_list::thread(s), PyExc_TimeoutError);
        ::pthread_kill(scope_list::pthread(s), interrupt_signal());
    }
}

} // namespace

request_scope::request_scope(ref_id ref)
    : ref_(ref), thread_ident_(PyThread_get_thread_ident()), pthread_(::pthread_self()),
      outer_(innermost) {
    registry &r = the_registry();
    channel_ = &current_channel();
    std::lock_guard<std::mutex> lock(r.mutex);
    if (!r.early_refs.empty() && r.early_refs.erase(ref) != 0) {
        cancelled_early_ = true;
    }
    cancelled_ = cancelled_early_;
    // Only a cancel interrupts a channel, and a request that ends clears its
    // own: the channel can be interrupted now only by a cancelled request
    // this one is nested in (and, as before, that interruption ends here).
    for (request_scope *s = outer_; s != nullptr; s = s->outer_) {
        if (s->cancelled_) {
            channel_->clear_interrupt();
            break;
        }
    }
    r.running.push(this);
    innermost = this;
}

request_scope::~request_scope() {
    registry &r = the_registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    if (cancelled_) {
        // The request ended before the exception fired: it must not
        // fire in whatever this thread runs next.
        PyThreadState_SetAsyncExc(thread_ident_, nullptr);
        channel_->clear_interrupt();
    }
    r.running.remove(this);
    innermost = outer_;
}

request_scope *request_scope::current() {
    return innermost;
}

void request_scope::cancel_delivered() {
    registry &r = the_registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    bool any = false;
    for (request_scope *s = innermost; s != nullptr; s = s->outer_) {
        if (s->cancelled_) {
            s->delivered_ = true;
            any = true;
        }
    }
    if (any) {
        PyThreadState_SetAsyncExc(PyThread_get_thread_ident(), nullptr);
    }
}

bool cancel_request(ref_id ref) {
    registry &r = the_registry();
    {
        std::lock_guard<std::mutex> lock(r.mutex);
        if (r.stopped) {
            return false;
        }
        request_scope *s = r.running.find(ref);
        if (s == nullptr) {
            if (r.early_refs.insert(ref).second) {
                r.early_order.push_back(ref);
                if (r.early_order.size() > max_early_cancels) {
                    r.early_refs.erase(r.early_order.front());
                    r.early_order.pop_front();
                }
            }
            return false;
        }
        scope_list::mark(s);
    }
    install_interrupt_signal();
    // Taking the GIL may wait for a busy thread: not on the reader's time.
    run_with_gil(raise_in_thread, ref);
    return true;
}

void stop_cancellations() {
    registry &r = the_registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    r.stopped = true;
}

int interrupt_signal() {
    return SIGRTMIN + 4;
}

} // namespace erlang_python
