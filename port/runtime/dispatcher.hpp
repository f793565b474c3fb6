// The port's one dispatcher: what each frame from Erlang means (run, queue, deliver, cancel, abort, stats).
#pragma once

#include "runtime/frame_handler.hpp"
#include "runtime/log_bridge.hpp"
#include "runtime/options.hpp"
#include "wire/frame_io.hpp"

#include <atomic>

namespace erlang_python {

class executor_pool;

// Every frame Erlang sends is decided here, from the kind table in
// wire/protocol.hpp (role_of):
//
//   role     channel  ref    route     what happens
//   request  0        any    executor  an executor thread runs it (run): the
//                                      switch in dispatcher.cpp picks the
//                                      runner function of request_runner.hpp
//   request  N        any    mailbox   delivered to channel N: the Python thread
//                                      waiting there in erlang.call runs it
//                                      (serve_while_waiting)
//   result   N        R > 0  answer    delivered to channel N: ends the wait of
//                                      erlang.call R
//   result   N        0      reader    aborts every wait on channel N (its
//                                      Erlang handler process died)
//   notice   0        any    executor  as a request, but nothing is answered
//                                      (run_notice): release
//   cancel   any      R      reader    interrupts request R, or drops it from
//                                      the queue and answers it
//   other                    reader    dropped, with a diagnostic
//
// It also holds what the runtime's parts share, handed down from main():
// the options, the frame writer, the log bridge's state, the callback refs
// and, while it runs, the executor pool.
class dispatcher {
public:
    dispatcher(const options &config, frame_writer &writer);
    dispatcher(const dispatcher &) = delete;
    dispatcher &operator=(const dispatcher &) = delete;

    // The pool whose queue cancels look in and whose counts stats report;
    // null before it starts and after it has joined.
    void attach(executor_pool *pool) { pool_.store(pool, std::memory_order_release); }
    executor_pool *pool() const { return pool_.load(std::memory_order_acquire); }
    // This dispatcher as the executor pool's frame handler.
    frame_handler handler();

    const options &config() const { return config_; }
    frame_writer &writer() { return writer_; }
    log_bridge_state &logging() { return logging_; }
    // A fresh Ref for a callback frame (erlang.call).
    ref_id next_ref() { return next_ref_.fetch_add(1, std::memory_order_relaxed); }

    // Any thread, no lock, no GIL: where a frame goes (the table above).
    static frame_route route(const frame_header &h) {
        switch (role_of(h.kind)) {
            case kind_role::request:
                return h.channel == any_channel ? frame_route::executor : frame_route::mailbox;
            case kind_role::notice:
                return h.channel == any_channel ? frame_route::executor : frame_route::reader;
            case kind_role::result:
                return h.channel != any_channel && h.ref != 0 ? frame_route::answer
                                                              : frame_route::reader;
            default:
                return frame_route::reader;
        }
    }
    // Without the GIL (takes it): runs a request and writes its reply. A
    // failed write means Erlang has gone: the process exits (status 4).
    void run(const frame &request);
    // Without the GIL, on the reading thread: a frame routed mailbox, answer
    // or reader (delivers, aborts, cancels or drops it).
    void handle(frame &&f);
    // Without the GIL, on a thread waiting in erlang.call for the result of
    // callback `awaited`, with a frame of its channel: true when `f` is that
    // result; else serves it here (a nested request runs and is answered, a
    // stale result is dropped) and returns false.
    bool serve_while_waiting(const frame &f, ref_id awaited);

private:
    void cancel(const frame_header &h);
    void answer(const frame &request); // run() without the exit on a failed write

    const options &config_;
    frame_writer &writer_;
    log_bridge_state logging_;
    std::atomic<ref_id> next_ref_{1};
    std::atomic<executor_pool *> pool_{nullptr};
};

} // namespace erlang_python
