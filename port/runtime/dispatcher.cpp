// The port's one dispatcher: what each frame from Erlang means (run, queue, deliver, cancel, abort, stats).
#include "runtime/dispatcher.hpp"

#include "python/handle_table.hpp"
#include "runtime/cancellation.hpp"
#include "runtime/channel.hpp"
#include "runtime/executor_pool.hpp"
#include "runtime/request_runner.hpp"
#include "terms/term_codec.hpp"
#include "wire/diagnostics.hpp"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace erlang_python {
namespace {

// Requires the GIL. The body of a request as a Python object.
py::object request_body(const dispatcher &d, const frame &request) {
    return decode_term(request.body(), request.body_size, d.config().max_depth + envelope_depth);
}

// Requires the GIL. py:stats()'s port section.
py::object stats(dispatcher &d) {
    auto &registry = channel_registry::instance();
    const options &config = d.config();
    py::dict s;
    s["channels"] = registry.created();
    s["channels_in_use"] = registry.in_use();
    s["executor_threads"] = config.executor_threads;
    s["max_executor_threads"] = std::max(config.max_executor_threads, config.executor_threads);
    executor_pool *pool = d.pool();
    s["parked_reading_takeovers"] = pool != nullptr ? pool->stalls() : 0;
    if (pool != nullptr) {
        executor_pool::counts c = pool->count();
        s["threads_running"] = c.threads;
        s["threads_peak"] = c.peak_threads;
        s["requests_queued"] = c.queued;
    }
    s["handles"] = handle_table::instance().size();
    s["handles_released_early"] = handle_table::instance().early_releases();
    s["namespaces"] = py::module_::import("erlang._namespaces").attr("count")();
    s["log_records_sent"] = d.logging().sent.load();
    s["log_records_dropped"] = d.logging().dropped.load();
    return std::move(s);
}

// Requires the GIL. The one switch from a request kind to its runner
// function; run_request (request_runner.hpp) calls it inside the request's
// envelope (GIL, cancellation scope, the one catch, the reply).
py::object execute(void *context, const frame &request) {
    dispatcher &d = *static_cast<dispatcher *>(context);
    switch (request.header.kind) {
        case frame_kind::call:
            return run_call(request, d.config().max_depth);
        case frame_kind::eval:
            return run_eval(request_body(d, request));
        case frame_kind::exec:
            return run_exec(request_body(d, request));
        case frame_kind::stats:
            return stats(d);
        case frame_kind::log_level:
            return run_log_level(d.logging(), request_body(d, request));
        case frame_kind::call_ref:
            return run_call_ref(request, d.config().max_depth);
        case frame_kind::release:
            return run_release(request);
        case frame_kind::drop_namespace:
            return run_drop_namespace(request_body(d, request));
        default:
            throw std::logic_error(std::string("not a request: ")
                                   + kind_name(request.header.kind));
    }
}

} // namespace

dispatcher::dispatcher(const options &config, frame_writer &writer)
    : config_(config), writer_(writer) {}

frame_handler dispatcher::handler() {
    frame_handler h;
    h.context = this;
    h.route = [](void *, const frame_header &header) { return route(header); };
    h.run = [](void *context, const frame &request) {
        static_cast<dispatcher *>(context)->run(request);
    };
    h.handle = [](void *context, frame &&f) {
        static_cast<dispatcher *>(context)->handle(std::move(f));
    };
    h.input_ended = [](void *) { channel_registry::instance().close_all(); };
    return h;
}

void dispatcher::answer(const frame &request) {
    if (role_of(request.header.kind) == kind_role::notice) {
        run_notice(request, &execute, this);
        return;
    }
    run_request(request, writer_, config_, &execute, this);
}

void dispatcher::run(const frame &request) {
    try {
        answer(request);
    } catch (const std::exception &e) {
        // Only writing can fail here: Erlang has gone away.
        diag("%s", e.what());
        std::_Exit(4);
    }
}

void dispatcher::handle(frame &&f) {
    const frame_header h = f.header;
    if (role_of(h.kind) == kind_role::cancel) {
        cancel(h);
        return;
    }
    auto c = channel_registry::instance().find(h.channel);
    if (!c) {
        diag("dropped a %s frame for unknown channel %u", kind_name(h.kind), unsigned(h.channel));
        return;
    }
    switch (route(h)) {
        case frame_route::mailbox:
        case frame_route::answer:
            c->deliver(std::move(f));
            return;
        case frame_route::reader:
            if (role_of(h.kind) == kind_role::result) {
                c->abort(); // Ref 0: the thread's handler died, no result will come
                return;
            }
            break;
        case frame_route::executor:
            break; // run by the pool, never handed here
    }
    diag("dropped a %s frame for channel %u", kind_name(h.kind), unsigned(h.channel));
}

// Every cancel is answered unless the request is running (then the request
// itself answers): a queued request is dropped; a ref not seen is done
// already or was never sent (its caller died between registering and
// sending). Erlang drops answers it no longer needs, and kills the port only
// for a cancelled request that stays silent.
void dispatcher::cancel(const frame_header &h) {
    std::optional<frame_header> queued;
    if (executor_pool *p = pool()) {
        queued = p->withdraw(h.ref);
    }
    const bool running = !queued && cancel_request(h.ref);
    if (!queued) {
        // A coroutine on the event loop, perhaps; also when the request
        // still runs: it may be handing its coroutine to the loop right
        // now, and its own cancel would then end with its thread.
        cancel_deferred(h.ref);
    }
    if (!running) {
        try {
            reply_cancelled(queued ? *queued : h, writer_);
        } catch (const std::exception &e) {
            diag("%s", e.what()); // only writing can fail: Erlang has gone away
            std::_Exit(4);
        }
    }
}

bool dispatcher::serve_while_waiting(const frame &f, ref_id awaited) {
    switch (route(f.header)) {
        case frame_route::answer:
            return f.header.ref == awaited; // else a stale result: its caller gave up long ago
        case frame_route::mailbox:
            answer(f); // a nested request from the thread's handler runs on this thread
            return false;
        default:
            return false;
    }
}

} // namespace erlang_python
