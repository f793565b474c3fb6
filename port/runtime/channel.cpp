// Per-Python-thread channels: a private mailbox each, pooled and reused as threads come and go.
#include "runtime/channel.hpp"

#include <chrono>

namespace erlang_python {

void channel::deliver(frame &&f) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        inbox_.push_back(std::move(f));
    }
    ready_.notify_one();
}

wake channel::accept(frame &&f, std::uint64_t since) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!interrupted_ && abort_epoch_ == since && inbox_.empty()) {
        return wake{wake_reason::frame, std::move(f)};
    }
    inbox_.push_back(std::move(f));
    return std::move(*ready_wake(since));
}

std::optional<wake> channel::ready_wake(std::uint64_t since) {
    if (interrupted_) {
        return wake{wake_reason::interrupted, std::nullopt};
    }
    if (abort_epoch_ != since) {
        return wake{wake_reason::aborted, std::nullopt};
    }
    if (!inbox_.empty()) {
        frame f = std::move(inbox_.front());
        inbox_.pop_front();
        return wake{wake_reason::frame, std::move(f)};
    }
    if (closed_) {
        return wake{wake_reason::closed, std::nullopt};
    }
    return std::nullopt;
}

std::optional<wake> channel::next_wake(std::uint64_t since) {
    if (std::optional<wake> w = ready_wake(since)) {
        return w;
    }
    if (lead_offered_) {
        return wake{wake_reason::lead, std::nullopt};
    }
    return std::nullopt;
}

wake channel::wait(std::uint64_t since) {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        if (std::optional<wake> w = next_wake(since)) {
            return std::move(*w);
        }
        ready_.wait(lock);
    }
}

std::optional<wake> channel::wait_for(std::uint64_t since, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (std::optional<wake> w = next_wake(since)) {
            return w;
        }
        if (ready_.wait_until(lock, deadline) == std::cv_status::timeout) {
            return next_wake(since);
        }
    }
}

std::optional<wake> channel::poll(std::uint64_t since) {
    std::lock_guard<std::mutex> lock(mutex_);
    return ready_wake(since);
}

void channel::offer_lead() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        lead_offered_ = true;
    }
    ready_.notify_all();
}

bool channel::take_offer() {
    std::lock_guard<std::mutex> lock(mutex_);
    bool offered = lead_offered_;
    lead_offered_ = false;
    return offered;
}

bool channel::sleep_for(double seconds) {
    std::unique_lock<std::mutex> lock(mutex_);
    auto duration = std::chrono::duration<double>(seconds);
    return !ready_.wait_for(lock, duration, [this] { return interrupted_; });
}

void channel::interrupt() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        interrupted_ = true;
    }
    ready_.notify_all();
}

void channel::clear_interrupt() {
    std::lock_guard<std::mutex> lock(mutex_);
    interrupted_ = false;
}

bool channel::interrupted() {
    std::lock_guard<std::mutex> lock(mutex_);
    return interrupted_;
}

void channel::abort() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        abort_epoch_.fetch_add(1);
    }
    ready_.notify_all();
}

std::uint64_t channel::abort_epoch() {
    return abort_epoch_.load();
}

void channel::close() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        closed_ = true;
    }
    ready_.notify_all();
}

void channel::clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    inbox_.clear();
    interrupted_ = false;
    lead_offered_ = false;
}

channel_registry &channel_registry::instance() {
    // Leaked on purpose: thread_local leases release into it during exit.
    static auto *registry = new channel_registry();
    return *registry;
}

std::shared_ptr<channel> channel_registry::acquire() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!free_.empty()) {
        channel_id id = free_.back();
        free_.pop_back();
        return all_[id - 1];
    }
    auto c = std::make_shared<channel>(channel_id(all_.size() + 1));
    if (closed_) {
        c->close();
    }
    all_.push_back(c);
    return c;
}

void channel_registry::release(const std::shared_ptr<channel> &c) {
    c->clear();
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(c->id());
}

std::shared_ptr<channel> channel_registry::find(channel_id id) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (id == 0 || id > all_.size()) {
        return nullptr;
    }
    return all_[id - 1];
}

void channel_registry::close_all() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    for (auto &c : all_) {
        c->close();
    }
}

std::size_t channel_registry::created() {
    std::lock_guard<std::mutex> lock(mutex_);
    return all_.size();
}

std::size_t channel_registry::in_use() {
    std::lock_guard<std::mutex> lock(mutex_);
    return all_.size() - free_.size();
}

namespace {

class channel_lease {
public:
    ~channel_lease() {
        if (channel_) {
            channel_registry::instance().release(channel_);
        }
    }
    channel &get() {
        if (!channel_) {
            channel_ = channel_registry::instance().acquire();
        }
        return *channel_;
    }

private:
    std::shared_ptr<channel> channel_;
};

thread_local channel_lease lease;

} // namespace

channel &current_channel() {
    return lease.get();
}

} // namespace erlang_python
