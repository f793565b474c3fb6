// The echo port's reverse calls: callback frames like erlang.call('add', 1, 2), each round trip timed.
#include "echo_reverse.hpp"

#include "wire/term_buffer.hpp"
#include "terms/term_check.hpp"

#include <atomic>
#include <chrono>
#include <stdexcept>

namespace echo_port {
namespace {

std::atomic<ep::ref_id> next_ref{1};

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

} // namespace

ep::ref_id fresh_ref() {
    return next_ref++;
}

void send_callback(ep::frame_writer &writer, ep::channel_id channel, ep::ref_id ref) {
    ep::term_buffer frame({ep::frame_kind::callback, channel, ref});
    ei_x_buff *x = frame.get();
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_binary(x, "add", 3);
    ei_x_encode_list_header(x, 2);
    ei_x_encode_long(x, 1);
    ei_x_encode_long(x, 2);
    ei_x_encode_empty_list(x);
    writer.send(frame);
}

void check_result(const ep::frame &result) {
    const char *body = result.body();
    if (!ep::check_term(body, result.body_size).ok) {
        throw std::runtime_error("result frame is not a term");
    }
    int index = 0;
    int version = 0;
    int arity = 0;
    char tag[MAXATOMLEN] = {};
    long value = 0;
    if (ei_decode_version(body, &index, &version) != 0
        || ei_decode_tuple_header(body, &index, &arity) != 0 || arity != 2
        || ei_decode_atom(body, &index, tag) != 0 || std::string(tag) != "ok"
        || ei_decode_long(body, &index, &value) != 0 || value != 3) {
        throw std::runtime_error("callback result is not {ok, 3}");
    }
}

void send_samples(ep::frame_writer &writer, const ep::frame_header &request,
                  std::int64_t elapsed_ns, const std::vector<std::int64_t> &samples) {
    ep::term_buffer reply({ep::frame_kind::reply, request.channel, request.ref});
    ei_x_buff *x = reply.get();
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_atom(x, "ok");
    ei_x_encode_tuple_header(x, 2);
    ei_x_encode_longlong(x, elapsed_ns);
    if (!samples.empty()) {
        ei_x_encode_list_header(x, long(samples.size()));
        for (std::int64_t s : samples) {
            ei_x_encode_longlong(x, s);
        }
    }
    ei_x_encode_empty_list(x);
    writer.send(reply);
}

callback_threads::callback_threads(ep::frame_writer &writer, const ep::frame_header &request,
                                   int threads, int count)
    : writer_(writer), request_(request), count_(count) {
    for (int i = 0; i < threads; ++i) {
        mailboxes_.push_back(std::make_unique<mailbox>());
    }
    runner_ = std::thread([this] { run(); });
}

callback_threads::~callback_threads() {
    if (runner_.joinable()) {
        runner_.join();
    }
}

bool callback_threads::deliver(ep::frame &&result) {
    std::size_t index = result.header.channel - 1;
    if (result.header.channel == 0 || index >= mailboxes_.size()) {
        return false;
    }
    mailbox &box = *mailboxes_[index];
    {
        std::lock_guard<std::mutex> lock(box.mutex);
        box.frame = std::move(result);
    }
    box.ready.notify_one();
    return true;
}

void callback_threads::worker(int index, std::vector<std::int64_t> &samples) {
    mailbox &box = *mailboxes_[std::size_t(index)];
    auto channel = ep::channel_id(index + 1);
    samples.reserve(std::size_t(count_));
    for (int i = 0; i < count_; ++i) {
        std::int64_t start = now_ns();
        send_callback(writer_, channel, fresh_ref());
        std::unique_lock<std::mutex> lock(box.mutex);
        box.ready.wait(lock, [&] { return box.frame.has_value(); });
        ep::frame result = std::move(*box.frame);
        box.frame.reset();
        lock.unlock();
        check_result(result);
        samples.push_back(now_ns() - start);
    }
}

void callback_threads::run() {
    std::vector<std::vector<std::int64_t>> per_thread(mailboxes_.size());
    std::int64_t start = now_ns();
    {
        std::vector<std::thread> workers;
        for (std::size_t i = 0; i < mailboxes_.size(); ++i) {
            workers.emplace_back([this, i, &per_thread] {
                try {
                    worker(int(i), per_thread[i]);
                } catch (const std::exception &) {
                    failed_ = true;
                }
            });
        }
        for (auto &w : workers) {
            w.join();
        }
    }
    std::int64_t elapsed = now_ns() - start;
    std::vector<std::int64_t> all;
    for (auto &s : per_thread) {
        all.insert(all.end(), s.begin(), s.end());
    }
    if (failed_) {
        all.clear(); // an empty sample list tells Erlang the run failed
    }
    send_samples(writer_, request_, elapsed, all);
}


} // namespace echo_port
