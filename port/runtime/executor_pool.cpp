// Leader/follower pool: one thread reads frames; it runs a request itself when a follower can take over reading.
#include "runtime/executor_pool.hpp"

#include "runtime/batch_scheduling.hpp"
#include "runtime/cancellation.hpp"
#include "runtime/channel.hpp"
#include "wire/diagnostics.hpp"
#include "runtime/request_runner.hpp"

#include <Python.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace erlang_python {
namespace {

// Gives the executor thread a Python thread state for its whole life; the
// GIL is released between requests.
class python_thread_state {
public:
    python_thread_state() : gil_(PyGILState_Ensure()), state_(PyEval_SaveThread()) {}
    ~python_thread_state() {
        PyEval_RestoreThread(state_);
        PyGILState_Release(gil_);
    }

private:
    PyGILState_STATE gil_;
    PyThreadState *state_;
};

// How long one request may keep the reader parked before the watch takes
// the reading over (when the request blocks somewhere ensure_reader() is
// not called, or simply runs long).
constexpr std::chrono::milliseconds watch_period{5};
// Watch periods with nothing parked before the watch goes dormant (100 ms).
constexpr unsigned dormant_after = 20;

// Identifies the calling thread as the owner of a parked reading.
thread_local char thread_tag;
const void *self() { return &thread_tag; }
// Set on the pool's own threads: they come back for a reading they own.
thread_local bool pool_thread = false;
// This thread holds its replies back in the writer (see lead()).
thread_local bool holding_replies = false;

thread_local batch_scheduling batching;

// The pool that threads leaving the process must tell, under its own lock
// so that the pool cannot go away meanwhile. Leaked: threads may exit late.
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

// One thread more than the executors asked for: a leader only runs a request
// itself when another thread can take over reading, so `threads` requests can
// run at once while frames for waiting Python threads keep being delivered.
executor_pool::executor_pool(frame_reader &reader,
                             frame_writer &writer,
                             sizing size,
                             std::function<void()> on_input_end)
    : reader_(reader),
      writer_(writer),
      base_(size.threads + 1),
      max_(std::max(size.max_threads, size.threads) + 1),
      idle_exit_(size.idle_exit),
      on_input_end_(std::move(on_input_end)) {}

executor_pool::~executor_pool() {
    {
        live_pool &live = the_live_pool();
        std::lock_guard<std::mutex> lock(live.mutex);
        live.pool = nullptr;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto &t : threads_) {
        if (t.joinable()) {
            t.detach();
        }
    }
}

// Two threads to begin with (a leader and one standing by, so requests run
// parked from the first one); more only when requests have to queue, up to
// the configured size. Idle ports stay small and start fast.
void executor_pool::start() {
    {
        live_pool &live = the_live_pool();
        std::lock_guard<std::mutex> lock(live.mutex);
        live.pool = this;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    for (std::size_t i = 0; i < std::min<std::size_t>(2, base_); ++i) {
        grow();
    }
}

void executor_pool::grow() {
    try {
        threads_.emplace_back([this] { thread_main(); });
    } catch (const std::system_error &e) {
        // Out of threads or address space (max_memory): the requests stay
        // queued for the threads there are.
        diag("cannot start another executor thread (%zu running): %s", live_, e.what());
        return;
    }
    ++live_;
    peak_ = std::max(peak_, live_);
}

bool executor_pool::leave_if_spare() {
    if (live_ <= base_ || !queue_.empty() || input_ended_ || (parked_ && takeover_)) {
        return false;
    }
    auto me = std::find_if(threads_.begin(), threads_.end(), [](const std::thread &t) {
        return t.get_id() == std::this_thread::get_id();
    });
    if (me != threads_.end()) { // else join() holds it and joins it
        me->detach();
        threads_.erase(me);
    }
    return true;
}

executor_pool::counts executor_pool::count() {
    std::lock_guard<std::mutex> lock(mutex_);
    return {live_, peak_, queue_.size()};
}

void executor_pool::join() {
    // Threads are only added before input ends, all under the lock; each is
    // taken out of the list before it is joined.
    for (;;) {
        std::unique_lock<std::mutex> lock(mutex_);
        if (threads_.empty()) {
            if (input_ended_ && live_ == 0) {
                break;
            }
            input_end_.wait(lock);
            continue;
        }
        std::thread t = std::move(threads_.front());
        threads_.pop_front();
        lock.unlock();
        t.join();
    }
}

void executor_pool::thread_main() {
    std::optional<python_thread_state> python(std::in_place);
    pool_thread = true;
    std::unique_lock<std::mutex> lock(mutex_);
    // Counted out only once its Python thread state is gone, so that join()
    // (and Py_Finalize after it) waits for that too.
    struct leave {
        executor_pool &pool;
        std::unique_lock<std::mutex> &lock;
        ~leave() {
            --pool.live_;
            pool.input_end_.notify_all();
        }
    } on_return{*this, lock};
    for (;;) {
        if (parked_ && parker_ == self()) {
            unpark(); // the reading it parked, back from a request
            lead(lock);
            continue;
        }
        if (!queue_.empty()) {
            frame f = std::move(queue_.front());
            queue_.pop_front();
            lock.unlock();
            run(f);
            lock.lock();
            continue;
        }
        if (input_ended_) {
            return;
        }
        if (!has_leader_ || (parked_ && takeover_)) {
            unpark();
            has_leader_ = true;
            lead(lock);
            continue;
        }
        if (wait_idle(lock) && leave_if_spare()) {
            // Idle past idle_exit with more threads than the base: leave.
            lock.unlock();
            python.reset();
            lock.lock();
            return;
        }
    }
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
        on_input_end_();
        channel_registry::instance().close_all();
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

std::size_t executor_pool::spare_idle() const {
    // Idle threads already woken for a queued request or a takeover still
    // count in idle_ until they run.
    std::size_t wanted = queue_.size() + ((parked_ && takeover_) ? 1 : 0);
    return idle_ > wanted ? idle_ - wanted : 0;
}

void executor_pool::wake_or_grow() {
    std::size_t wanted = queue_.size() + ((parked_ && takeover_) ? 1 : 0);
    if (idle_ >= wanted && idle_ > 0) {
        wake_.notify_one();
    } else if (live_ < max_) {
        grow();
    }
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

void executor_pool::enqueue(frame &&f) {
    queue_.push_back(std::move(f));
    wake_or_grow();
}

void executor_pool::hold_replies() {
    if (!holding_replies) {
        holding_replies = true;
        writer_.hold();
    }
}

void executor_pool::release_replies() {
    if (!holding_replies) {
        return;
    }
    holding_replies = false;
    try {
        writer_.release();
    } catch (const std::exception &e) {
        diag("%s", e.what()); // only writing can fail: Erlang has gone away
        std::_Exit(4);
    }
}

// While further whole frames are already buffered, the leader holds its
// replies back and sends them together once the buffer runs dry (one write
// for the batch, not one per request). A held reply never waits for
// anything but the requests of its batch: the hold ends before this thread
// blocks (reading the pipe, erlang.call, time.sleep through ensure_reader)
// and when it gives the reading up; the watch flushes it meanwhile too.
void executor_pool::lead(std::unique_lock<std::mutex> &lock) {
    struct stop_batching {
        ~stop_batching() { batching.stop(); }
    } on_return;
    std::size_t batch = 0; // frames read since the last blocking read
    for (;;) {
        lock.unlock();
        if (!reader_.has_frame()) {
            // The batch is done: its replies go out together.
            release_replies();
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
        if (h.kind == frame_kind::result && h.channel != any_channel && h.ref != 0) {
            lock.lock();
            if (followers_.size() == 1 && followers_[0].ch->id() == h.channel
                && queue_.empty()) {
                // The only waiter gets its result and the reading with it.
                // Delivered under the lock: a waiter whose bounded wait ends
                // now must find its frame before it finds the reading free
                // (else it would read the pipe for a frame it already has).
                park(followers_[0].thread);
                route(std::move(*f));
                lock.unlock();
                release_replies();
                lock.lock();
                return;
            }
            lock.unlock();
        }
        if (h.channel != any_channel || !is_request(h.kind)) {
            route(std::move(*f));
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
            hold_replies();
        }
        run(*f);
        lock.lock();
        if (!parked_ || parker_ != self()) {
            lock.unlock();
            release_replies();
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
    release_replies(); // it may block: replies held back go out first
    bool offered = false; // the reading was handed to this thread
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
            if (h.channel == any_channel && is_request(h.kind)) {
                lock.lock();
                enqueue(std::move(*f));
                lock.unlock();
                continue;
            }
            if (h.channel == ch.id() && h.kind != frame_kind::cancel
                && !(h.kind == frame_kind::result && h.ref == 0)) {
                got = ch.accept(std::move(*f), since); // its own frame: no mailbox round trip
                continue;
            }
            route(std::move(*f));
            if (h.channel == ch.id() || h.kind == frame_kind::cancel) {
                got = ch.poll(since); // an abort, or its request cancelled
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
        try {
            writer_.flush();
        } catch (const std::exception &e) {
            diag("%s", e.what());
            std::_Exit(4);
        }
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

void executor_pool::ensure_reader() {
    release_replies(); // about to block: replies held back go out first
    if (!parked_flag_.load()) {
        return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (parked_ && !takeover_) {
        takeover_ = true;
        wake_.notify_one();
    }
}

void executor_pool::route(frame &&f) {
    if (f.header.kind == frame_kind::cancel) {
        // Every cancel is answered unless the request is running (then the
        // request itself answers): a queued request is dropped; a ref not
        // seen is done already or was never sent (its caller died between
        // registering and sending). Erlang drops answers it no longer needs,
        // and kills the port only for a cancelled request that stays silent.
        bool was_queued = false;
        frame_header queued = f.header;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            auto it = std::find_if(queue_.begin(), queue_.end(), [&](const frame &q) {
                return q.header.ref == f.header.ref;
            });
            if (it != queue_.end()) {
                queued = it->header;
                queue_.erase(it);
                was_queued = true;
            }
        }
        const bool running = !was_queued && cancel_request(f.header.ref);
        if (!was_queued) {
            // A coroutine on the event loop, perhaps; also when the request
            // still runs: it may be handing its coroutine to the loop right
            // now, and its own cancel would then end with its thread.
            cancel_deferred(f.header.ref);
        }
        if (!running) {
            try {
                reply_cancelled(queued, writer_);
            } catch (const std::exception &e) {
                diag("%s", e.what()); // only writing can fail: Erlang has gone away
                std::_Exit(4);
            }
        }
        return;
    }
    auto c = channel_registry::instance().find(f.header.channel);
    if (!c) {
        diag("dropped a %s frame for unknown channel %u",
             kind_name(f.header.kind),
             unsigned(f.header.channel));
        return;
    }
    if (f.header.kind == frame_kind::result && f.header.ref == 0) {
        c->abort(); // the thread's handler died: no result will come
        return;
    }
    c->deliver(std::move(f));
}

void executor_pool::run(const frame &f) {
    try {
        run_request(f, writer_);
    } catch (const std::exception &e) {
        // Only writing can fail here: Erlang has gone away.
        diag("%s", e.what());
        std::_Exit(4);
    }
}

} // namespace erlang_python
