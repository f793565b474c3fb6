// Frame I/O over the protocol pipes with Boost.Asio: a read-ahead reader and a coalescing writer.
#pragma once

#include "wire/frame_codec.hpp"
#include "wire/term_buffer.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <chrono>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace erlang_python {

// The byte stream from Erlang is corrupt: the port must end.
class protocol_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Reads whole frames from the protocol input. Used by one thread at a time
// (the executor pool's leader). Never touches Python.
class frame_reader {
public:
    frame_reader(boost::asio::io_context &io, int fd, std::size_t max_frame);

    // Blocks until a whole frame has arrived. Returns nothing on a clean
    // end of input; throws protocol_error on a corrupt or truncated stream.
    // With `spin`, each read that would block first polls the pipe for up
    // to read_spin, when the process may run on more than one CPU and the
    // machine has a CPU to spare (frame_io.cpp).
    std::optional<frame> next(bool spin = false);
    // True when next() would return a whole frame without reading: another
    // frame is already buffered.
    bool has_frame() const;

    // How long a read polls before it blocks: zero when the process may only
    // run on one CPU (a spin would keep the VM off it), else read_spin.
    std::chrono::microseconds spin() const { return spin_; }

private:
    std::size_t fill(char *at, std::size_t room, bool spin); // 0 on end of input
    void wait_readable(); // returns when input is there or spin_ has passed
    bool cpu_to_spare();  // no more runnable tasks than CPUs (checked every 50 ms)

    boost::asio::posix::stream_descriptor in_;
    std::size_t max_frame_;
    byte_buffer buffer_; // read-ahead; uninitialised, so only the bytes read into it are resident
    std::size_t start_ = 0;
    std::size_t end_ = 0;
    std::chrono::microseconds spin_;
    int cpus_;
    std::chrono::steady_clock::time_point next_load_check_{};
    bool spare_cpu_ = false;
};

// Writes frames to the protocol output from any thread. A thread that finds
// another one writing leaves its frame behind and returns; the writing
// thread sends everything queued in one go (coalesced replies).
//
// One thread at a time may also hold its replies back: while it holds,
// its `reply` frames are queued, not written, until it releases (the
// executor pool's leader holds while it runs a batch of requests that are
// already buffered, so the batch's replies go out in one write). Any other
// frame, from any thread, is written at once and takes the queued ones with
// it.
class frame_writer {
public:
    frame_writer(boost::asio::io_context &io, int fd);

    // Call without the GIL: may block while the pipe is full. `data` holds
    // whole frames.
    void send(const char *data, std::size_t size);
    void send(term_buffer &frame) {
        const char *data = frame.finish();
        send(data, frame.size());
    }
    // The calling thread's replies are queued from now on, until release().
    void hold();
    // Without the GIL: ends the calling thread's hold and writes whatever
    // is queued.
    void release();
    // Without the GIL, any thread: writes whatever is queued now (a hold
    // stays in place).
    void flush();

private:
    void write_all(const char *data, std::size_t size);
    void write_all(const std::string &queued, const char *data, std::size_t size);
    // Called with the lock held and writing_ set by this thread: writes
    // what is queued until nothing is, then clears writing_.
    void drain(std::unique_lock<std::mutex> &lock);

    boost::asio::posix::stream_descriptor out_;
    std::mutex mutex_;
    std::string pending_;
    bool writing_ = false;
    std::thread::id holder_; // a thread holding its replies back, or none
};

} // namespace erlang_python
