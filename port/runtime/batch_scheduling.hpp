// SCHED_BATCH for the reading thread while requests arrive in batches, SCHED_OTHER otherwise.
#pragma once

#include <cstddef>
#include <sched.h>

namespace erlang_python {

// While requests arrive in batches, the leading thread runs as SCHED_BATCH:
// then its wake-up on new input does not preempt the Erlang VM when both
// share a CPU, so the VM writes every caller's request before the port
// reads them all in one go (one read, one write and one context switch per
// batch instead of per request or two). A lone caller's requests arrive one
// at a time: the thread goes back to SCHED_OTHER after `calm_batches` such
// reads in a row, so single-call latency keeps the ordinary wake-up; and
// when it stops reading (only the reading thread batches).
class batch_scheduling {
public:
    // The leader read `frames` frames between two blocking reads.
    void batch_done(std::size_t frames) {
        if (frames >= 2) {
            calm_ = 0;
            set(true);
        } else if (on_ && ++calm_ >= calm_batches) {
            set(false);
        }
    }
    // The thread stops reading: only the reading thread batches (a watch or
    // a takeover must still wake at once).
    void stop() { set(false); }
    bool on() const { return on_; }

private:
    static constexpr unsigned calm_batches = 8;

    void set(bool on) {
        if (on == on_) {
            return;
        }
        sched_param param{};
        // Failure (a sandbox forbidding it) only costs the optimization.
        if (sched_setscheduler(0, on ? SCHED_BATCH : SCHED_OTHER, &param) == 0) {
            on_ = on;
        }
        calm_ = 0;
    }

    bool on_ = false;
    unsigned calm_ = 0;
};

} // namespace erlang_python
