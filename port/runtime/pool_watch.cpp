// The pool's watch: an idle thread that takes over a reading parked too long, goes dormant on a quiet port, and idle timeouts.
#include "runtime/executor_pool.hpp"
#include "runtime/reply_batching.hpp"

namespace erlang_python {

// One idle thread at a time is the watch: it waits watch_period at most,
// and when the same request has kept the reading parked for a whole period
// it asks for a takeover (the request blocked somewhere ensure_reader() is
// not called, or simply runs long); it flushes replies a parked leader
// holds back. The other idle threads wait without a timeout, or, beyond
// the base number, up to idle_exit before they leave.
bool executor_pool::wait_idle(std::unique_lock<std::mutex> &lock) {
    ++idle_;
    if (watching_) {
        // Threads beyond the base wait at most idle_exit for work.
        bool spare = live_ > base_;
        bool timed_out = false;
        if (spare) {
            timed_out = wake_.wait_for(lock, idle_exit_) == std::cv_status::timeout;
        } else {
            wake_.wait(lock);
        }
        --idle_;
        return timed_out;
    }
    watching_ = true;
    if (!parked_ && quiet_periods_ >= dormant_after) {
        dormant_ = true;
        wake_.wait(lock); // until park() or other work for an idle thread
        dormant_ = false;
        quiet_periods_ = 0;
        watching_ = false;
        --idle_;
        // Woken for work, this thread stops watching: another idle thread
        // (they wait without a timeout while a watch exists) takes the watch.
        if (idle_ > 0) {
            wake_.notify_one();
        }
        return false; // the caller looks for work, then watches again
    }
    bool was_parked = parked_;
    std::uint64_t seen = park_count_;
    bool timed_out = wake_.wait_for(lock, watch_period) == std::cv_status::timeout;
    watching_ = false;
    --idle_;
    if (timed_out && !parked_ && !was_parked && park_count_ == seen) {
        ++quiet_periods_;
    } else {
        quiet_periods_ = 0;
    }
    if (timed_out && parked_) {
        // A leader's request runs long: replies it holds back go out now.
        lock.unlock();
        flush_replies(writer_);
        lock.lock();
    }
    if (parked_ && was_parked && park_count_ == seen) {
        takeover_ = true; // one request has held the reader for a whole period
    }
    bool leaving = takeover_ || !queue_.empty() || !has_leader_ || input_ended_;
    if (leaving && idle_ > 0) {
        wake_.notify_one(); // someone else keeps the watch
    }
    return false; // the watch stays
}

} // namespace erlang_python
