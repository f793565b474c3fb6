// The requests running now, by ref, so that a cancel frame from Erlang can interrupt them.
#pragma once

#include "runtime/channel.hpp"
#include "wire/protocol.hpp"

#include <pthread.h>

namespace erlang_python {

// Marks the calling thread as running request `ref` for the scope's life:
// the scope itself is the registry's entry (no allocation per request).
// Requires the GIL for construction and destruction.
class request_scope {
public:
    explicit request_scope(ref_id ref);
    ~request_scope();
    request_scope(const request_scope &) = delete;
    request_scope &operator=(const request_scope &) = delete;

    // True when a cancel for this ref arrived before the request started.
    bool cancelled_early() const { return cancelled_early_; }

    // The innermost request running on this thread, or null.
    static request_scope *current();

    // Requires the GIL, on a thread whose wait (erlang.call, time.sleep) a
    // cancel has just ended: the wait raises the TimeoutError itself, so the
    // asynchronous one of the cancelled requests on this thread is withdrawn.
    // Python code that catches the first must not get a second in its
    // handler.
    static void cancel_delivered();
    channel &interrupt_point() { return *channel_; }

private:
    friend struct scope_list;
    ref_id ref_;
    unsigned long thread_ident_;
    bool delivered_ = false; // the wait raised the TimeoutError (cancel_delivered)
    pthread_t pthread_;      // for the interrupt signal
    channel *channel_ = nullptr;
    request_scope *outer_ = nullptr; // on this thread
    request_scope *prev_ = nullptr;  // in the registry, under its lock
    request_scope *next_ = nullptr;
    bool cancelled_early_ = false;
    bool cancelled_ = false; // under the registry's lock
};

// Any thread, without the GIL. Interrupts request `ref`: wakes it if it
// waits on its channel (erlang.call, time.sleep), raises TimeoutError in
// its thread at the next bytecode, and sends that thread interrupt_signal()
// so a system call it is blocked in fails with EINTR; returns true. A ref not running is
// remembered (a bounded number of them), so a request about to start is
// answered without running; returns false.
bool cancel_request(ref_id ref);

// Called before Python finalizes: no asynchronous exception after this.
void stop_cancellations();

// The signal that interrupts a cancelled request's blocking system call
// (SIGRTMIN + 4: neither glibc nor CPython uses it). Its handler, installed
// on the first cancel, does nothing and has no SA_RESTART. Any thread that
// runs requests must retry its own system calls after EINTR.
int interrupt_signal();

} // namespace erlang_python
