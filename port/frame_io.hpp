// Frame I/O over the protocol pipes with Boost.Asio: a read-ahead reader and a coalescing writer.
#pragma once

#include "frame_codec.hpp"
#include "term_buffer.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
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
    std::optional<frame> next();

private:
    std::size_t fill(char *at, std::size_t room); // 0 on end of input

    boost::asio::posix::stream_descriptor in_;
    std::size_t max_frame_;
    byte_buffer buffer_; // read-ahead; uninitialised, so only the bytes read into it are resident
    std::size_t start_ = 0;
    std::size_t end_ = 0;
};

// Writes frames to the protocol output from any thread. A thread that finds
// another one writing leaves its frame behind and returns; the writing
// thread sends everything queued in one go (coalesced replies).
class frame_writer {
public:
    frame_writer(boost::asio::io_context &io, int fd);

    // Call without the GIL: may block while the pipe is full.
    void send(const char *data, std::size_t size);
    void send(term_buffer &frame) {
        const char *data = frame.finish();
        send(data, frame.size());
    }

private:
    void write_all(const char *data, std::size_t size);

    boost::asio::posix::stream_descriptor out_;
    std::mutex mutex_;
    std::string pending_;
    bool writing_ = false;
};

} // namespace erlang_python
