// The requests running now, by ref, so that a cancel frame from Erlang can interrupt them.
#pragma once

#include "channel.hpp"
#include "protocol.hpp"

namespace erlang_python {

// Marks the calling thread as running request `ref` for the scope's life.
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
    channel &interrupt_point() { return *channel_; }

private:
    ref_id ref_;
    channel *channel_ = nullptr;
    request_scope *outer_ = nullptr;
    bool cancelled_early_ = false;
};

// Any thread, without the GIL. Interrupts request `ref`: wakes it if it
// waits on its channel (erlang.call, time.sleep) and raises TimeoutError in
// its thread at the next bytecode; returns true. A ref not running is
// remembered (a bounded number of them), so a request about to start is
// answered without running; returns false.
bool cancel_request(ref_id ref);

// Called before Python finalizes: no asynchronous exception after this.
void stop_cancellations();

} // namespace erlang_python
