// What the executor pool does with a frame it read, as its handler (the dispatcher) decides.
#pragma once

#include "wire/frame_codec.hpp"

namespace erlang_python {

// Where a frame goes. The pool knows these four answers, not frame kinds.
enum class frame_route : unsigned char {
    executor, // work for any executor thread: run here or queue (handler.run)
    mailbox,  // for the Python thread that owns the frame's channel (handler.handle delivers it)
    answer,   // as mailbox, and it ends that thread's wait in erlang.call
    reader,   // handled at once on the reading thread (handler.handle): cancel, abort, drop
};

// The pool's frame handler: plain function pointers and a context, not a
// std::function or a virtual interface, so the call per frame costs what a
// direct call costs (the small call's hot path goes through route and run).
struct frame_handler {
    void *context = nullptr;
    // Any thread, without the GIL, no lock held: where `h`'s frame goes.
    frame_route (*route)(void *context, const frame_header &h) = nullptr;
    // Without the GIL (it takes it): runs a request and writes its reply.
    void (*run)(void *context, const frame &request) = nullptr;
    // Without the GIL, on the reading thread: a frame routed mailbox, answer
    // or reader.
    void (*handle)(void *context, frame &&f) = nullptr;
    // Once, on the reading thread, when stdin has closed: no frame will come
    // (every thread waiting for one must wake).
    void (*input_ended)(void *context) = nullptr;
};

} // namespace erlang_python
