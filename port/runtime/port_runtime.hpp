// What the whole port process shares: options, frame writer, callback refs, log bridge state.
#pragma once

#include "wire/frame_io.hpp"
#include "runtime/log_bridge.hpp"
#include "runtime/options.hpp"

#include <atomic>

namespace erlang_python {

class executor_pool;

struct port_runtime {
    options config;
    frame_writer *writer = nullptr;
    executor_pool *pool = nullptr;
    std::atomic<ref_id> next_ref{1};
    log_bridge_state logging; // Python logging records: threshold and counts
};

// The process-wide runtime, set up by main() before any request runs.
port_runtime &runtime();

} // namespace erlang_python
