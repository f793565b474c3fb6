// The echo port's reverse calls: callback frames like erlang.call('add', 1, 2), each round trip timed.
#pragma once

#include "wire/frame_io.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace echo_port {

namespace ep = erlang_python;

// A fresh callback ref (process-wide counter).
ep::ref_id fresh_ref();

// Sends {<<"add">>, [1, 2]} as a callback frame on channel with ref.
void send_callback(ep::frame_writer &writer, ep::channel_id channel, ep::ref_id ref);

// Checks that a result frame says {ok, 3}; throws std::runtime_error otherwise.
void check_result(const ep::frame &result);

// Sends the reply to the control request: {ok, {ElapsedNs, [RoundTripNs]}}.
void send_samples(ep::frame_writer &writer, const ep::frame_header &request,
                  std::int64_t elapsed_ns, const std::vector<std::int64_t> &samples);

// Threads 1..N each make `count` callbacks on channel N and wait for each
// result, which the reading thread hands over with deliver(): one thread
// hand-off per call, like a Python thread waiting in erlang.call.
class callback_threads {
public:
    callback_threads(ep::frame_writer &writer, const ep::frame_header &request, int threads,
                     int count);
    ~callback_threads(); // joins
    callback_threads(const callback_threads &) = delete;
    callback_threads &operator=(const callback_threads &) = delete;

    // From the reading thread; false when no thread of this run waits on the channel.
    bool deliver(ep::frame &&result);

private:
    struct mailbox {
        std::mutex mutex;
        std::condition_variable ready;
        std::optional<ep::frame> frame;
    };

    void run();                                   // the coordinating thread: starts, joins, replies
    void worker(int index, std::vector<std::int64_t> &samples);

    ep::frame_writer &writer_;
    ep::frame_header request_;
    int count_;
    std::atomic<bool> failed_{false};
    std::vector<std::unique_ptr<mailbox>> mailboxes_;
    std::thread runner_;
};

} // namespace echo_port
