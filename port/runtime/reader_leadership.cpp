// Who reads the protocol pipe: the leader runs requests parked, hands the reading on, and erlang.call waiters read for themselves.
#include "runtime/batch_scheduling.hpp"
#include "runtime/executor_pool.hpp"
#include "runtime/reply_batching.hpp"
#include "wire/diagnostics.hpp"

#include <algorithm>
#include <cstdlib>

namespace erlang_python {
namespace {

// Identifies the calling thread as the owner of a parked reading.
thread_local char thread_tag;
const void *self() {
    return &thread_tag;
}
// Set on the pool's own threads: they come back for a reading they own.
thread_local bool pool_thread = false;

thread_local batch_scheduling batching;

// The pool that threads leaving the process must tell, under its own lock
// so that the pool cannot go away meanwhile. Leaked: threads may exit late.
// (A thread's exit runs destructors with no way to pass them the pool.)
struct live_pool {
    std::mutex mutex;
    executor_pool *pool = nullptr;
};
live_pool &the_live_pool() {
    static auto *p = new live_pool();
    return *p;
}

// A thread outside the pool may own a parked reading (it parks it between
// its erlang.calls); when it exits, the reading goes on without it.
struct park_guard {
    bool armed = false;
    ~park_guard() {
        if (!armed) {
            return;
        }
        live_pool &live = the_live_pool();
        std::lock_guard<std::mutex> lock(live.mutex);
        if (live.pool != nullptr) {
            live.pool->disown();
        }
    }
};
thread_local park_guard exit_guard;

} // namespace

void executor_pool::publish(executor_pool *pool) {
    live_pool &live = the_live_pool();
    std::lock_guard<std::mutex> lock(live.mutex);
    live.pool = pool;
}

void executor_pool::enter_pool_thread() {
    pool_thread = true;
}

bool executor_pool::owns_parked_reading() const {
    return parked_ && parker_ == self();
}

std::optional<frame> executor_pool::read_frame(bool spin) {
    std::optional<frame> f;
    try {
        f = reader_.next(spin);
    } catch (const protocol_error &e) {
        diag("%s", e.what());
        std::_Exit(3); // Erlang reports the exit status; nothing can be trusted now
    }
    if (!f) {
        handler_.input_ended(handler_.context);
        on_input_end_();
    }
    return f;
}

void executor_pool::end_input(std::unique_lock<std::mutex> &) {
    input_ended_ = true;
    has_leader_ = false;
    parked_ = false;
    parked_flag_ = false;
    parker_ = nullptr;
    wake_.notify_all();
    input_end_.notify_all();
}

void executor_pool::park(const void *owner) {
    parked_ = true;
    parked_flag_ = true;
    takeover_ = false;
    parker_ = owner;
    ++park_count_;
    if (dormant_) {
        // The first park after a quiet spell: the watch starts again. All
        // idle threads wake (notify_one could reach one that is not the
        // watch); this happens once per quiet spell, not per request.
        dormant_ = false;
        wake_.notify_all();
    }
}

void executor_pool::unpark() {
    parked_ = false;
    parked_flag_ = false;
    takeover_ = false;
    parker_ = nullptr;
    ++park_count_;
}

void executor_pool::hand_off() {
    if (!followers_.empty()) {
        channel *c = followers_.back().ch;
        followers_.pop_back();
        c->offer_lead(); // it was waiting for a frame anyway: now it reads
        return;
    }
    takeover_ = true; // else the first pool thread free takes it
    wake_or_grow();
}

// While further whole frames are already buffered, the leader holds its
// replies back and sends them together once the buffer runs dry
// (reply_batching.hpp).
void executor_pool::lead(std::unique_lock<std::mutex> &lock) {
    struct stop_batching {
        ~stop_batching() { batching.stop(); }
    } on_return;
    std::size_t batch = 0; // frames read since the last blocking read
    for (;;) {
        lock.unlock();
        if (!reader_.has_frame()) {
            // The batch is done: its replies go out together.
            release_replies(writer_);
            if (batch != 0) {
                batching.batch_done(batch);
            }
            batch = 0;
        }
        ++batch;
        // A lone caller's next request comes right after our reply: poll for
        // it first. Not while batching: then the VM should write the whole
        // batch before we read.
        std::optional<frame> f = read_frame(!batching.on());
        if (!f) {
            lock.lock();
            end_input(lock);
            return;
        }
        const bool more = reader_.has_frame(); // read while this thread still reads
        const frame_header h = f->header;
        const frame_route where = handler_.route(handler_.context, h);
        if (where == frame_route::answer) {
            lock.lock();
            if (followers_.size() == 1 && followers_[0].ch->id() == h.channel && queue_.empty()) {
                // The only waiter gets its result and the reading with it.
                // Delivered under the lock: a waiter whose bounded wait ends
                // now must find its frame before it finds the reading free
                // (else it would read the pipe for a frame it already has).
                park(followers_[0].thread);
                handle(std::move(*f));
                lock.unlock();
                release_replies(writer_);
                lock.lock();
                return;
            }
            lock.unlock();
        }
        if (where != frame_route::executor) {
            handle(std::move(*f));
            lock.lock();
            continue;
        }
        lock.lock();
        if (spare_idle() == 0) {
            enqueue(std::move(*f)); // nobody could take over: keep reading
            continue;
        }
        park(self());
        if (!followers_.empty()) {
            hand_off(); // a thread waiting in erlang.call reads meanwhile
        }
        lock.unlock();
        if (more) {
            hold_replies(writer_);
        }
        run(*f);
        lock.lock();
        if (!parked_ || parker_ != self()) {
            lock.unlock();
            release_replies(writer_);
            lock.lock();
            return; // another thread took the reading over
        }
        unpark();
    }
}

void executor_pool::disown() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (has_leader_ && parked_ && parker_ == self()) {
        parker_ = nullptr;
        hand_off();
    }
}

wake executor_pool::await_frame(channel &ch, std::uint64_t since) {
    if (!pool_thread) {
        exit_guard.armed = true; // it may come to own a parked reading
    }
    release_replies(writer_); // it may block: replies held back go out first
    bool offered = false;     // the reading was handed to this thread
    for (;;) {
        std::unique_lock<std::mutex> lock(mutex_);
        bool free = has_leader_ && parked_;
        if (std::optional<wake> ready = ch.poll(since)) {
            if (offered && free) {
                hand_off(); // not taking it: pass it on
            }
            return std::move(*ready);
        }
        if (!free) {
            // Someone reads: wait to be delivered to (or handed the reading).
            offered = false;
            followers_.push_back({&ch, self()});
            lock.unlock();
            // Bounded: if the reading has stayed parked with nobody coming
            // back for it, this waiter takes it over on its next turn.
            std::optional<wake> waited = ch.wait_for(since, watch_period);
            lock.lock();
            auto it = std::find_if(followers_.begin(), followers_.end(), [&](const follower &x) {
                return x.ch == &ch;
            });
            if (it != followers_.end()) {
                followers_.erase(it);
            } else {
                offered = ch.take_offer();
            }
            if (!waited) {
                if (has_leader_ && parked_) {
                    ++stalls_; // parked for a whole period while a waiter waited
                } else if (offered) {
                    offered = false; // taken by someone else meanwhile
                }
                lock.unlock();
                continue; // look again: the reading may be free now
            }
            wake w = std::move(*waited);
            if (w.reason != wake_reason::lead) {
                if (offered && has_leader_ && parked_) {
                    hand_off();
                }
                return w;
            }
            continue;
        }
        // Nobody reads: this thread does, until a frame for `ch` comes.
        unpark();
        lock.unlock();
        std::optional<wake> got;
        while (!got) {
            // Our callback's result comes within ~20 us: poll for it first.
            std::optional<frame> f = read_frame(true);
            if (!f) {
                lock.lock();
                end_input(lock);
                lock.unlock();
                return ch.wait(since); // closed
            }
            const frame_header h = f->header;
            const frame_route where = handler_.route(handler_.context, h);
            if (where == frame_route::executor) {
                lock.lock();
                enqueue(std::move(*f));
                lock.unlock();
                continue;
            }
            if (h.channel == ch.id()
                && (where == frame_route::mailbox || where == frame_route::answer)) {
                got = ch.accept(std::move(*f), since); // its own frame: no mailbox round trip
                continue;
            }
            handle(std::move(*f));
            if (where == frame_route::reader) {
                got = ch.poll(since); // an abort of its channel, or its request cancelled
            }
        }
        lock.lock();
        // Resumed by this thread's next erlang.call (or, on a pool thread,
        // once its request is done); else by the watch, or at thread exit.
        park(self());
        if (spare_idle() == 0 || !followers_.empty()) {
            hand_off();
        }
        return std::move(*got);
    }
}

void executor_pool::ensure_reader() {
    release_replies(writer_); // about to block: replies held back go out first
    if (!parked_flag_.load()) {
        return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (parked_ && !takeover_) {
        takeover_ = true;
        wake_.notify_one();
    }
}

} // namespace erlang_python
