// A reading thread's replies held back in the writer while a batch of requests is buffered, then written in one go.
#include "runtime/reply_batching.hpp"

#include "wire/diagnostics.hpp"

#include <cstdlib>
#include <exception>

namespace erlang_python {
namespace {

// This thread holds its replies back in the writer.
thread_local bool holding_replies = false;

[[noreturn]] void writing_failed(const std::exception &e) {
    diag("%s", e.what()); // only writing can fail: Erlang has gone away
    std::_Exit(4);
}

} // namespace

void hold_replies(frame_writer &out) {
    if (!holding_replies) {
        holding_replies = true;
        out.hold();
    }
}

void release_replies(frame_writer &out) {
    if (!holding_replies) {
        return;
    }
    holding_replies = false;
    try {
        out.release();
    } catch (const std::exception &e) {
        writing_failed(e);
    }
}

void flush_replies(frame_writer &out) {
    try {
        out.flush();
    } catch (const std::exception &e) {
        writing_failed(e);
    }
}

} // namespace erlang_python
