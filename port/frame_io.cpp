// Frame I/O over the protocol pipes with Boost.Asio: a read-ahead reader and a coalescing writer.
#include "frame_io.hpp"

#include "huge_pages.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <algorithm>
#include <array>
#include <cstring>

namespace erlang_python {
namespace {
constexpr std::size_t read_ahead = 256 * 1024;
}

frame_reader::frame_reader(boost::asio::io_context &io, int fd, std::size_t max_frame)
    : in_(io, fd), max_frame_(max_frame), buffer_(read_ahead) {}

std::size_t frame_reader::fill(char *at, std::size_t room) {
    boost::system::error_code ec;
    std::size_t n = 0;
    do { // EINTR: the interrupt signal of a cancelled request (cancellation.hpp)
        n = in_.read_some(boost::asio::buffer(at, room), ec);
    } while (ec == boost::asio::error::interrupted);
    if (ec == boost::asio::error::eof) {
        return 0;
    }
    if (ec) {
        throw protocol_error("reading from Erlang failed: " + ec.message());
    }
    return n;
}

std::optional<frame> frame_reader::next() {
    for (;;) {
        parse_result r = parse_frame(buffer_.data() + start_, end_ - start_, max_frame_);
        if (r.status == parse_status::bad) {
            throw protocol_error(std::string("corrupt frame stream: ") + r.error);
        }
        std::size_t available = end_ - start_;
        if (r.status == parse_status::good
            || (available > length_prefix_size
                && r.frame_length + length_prefix_size > buffer_.size())) {
            // Either a whole frame is buffered, or it is too large for the
            // read-ahead buffer: then read the rest straight into its storage.
            // (Past the length prefix parse_frame has checked the kind.)
            frame f;
            f.storage = byte_buffer(r.frame_length);
            advise_huge_pages(f.storage.data(), r.frame_length);
            std::size_t have = std::min(available - length_prefix_size, r.frame_length);
            std::memcpy(f.storage.data(), buffer_.data() + start_ + length_prefix_size, have);
            start_ += length_prefix_size + have;
            while (have < r.frame_length) {
                std::size_t n = fill(f.storage.data() + have, r.frame_length - have);
                if (n == 0) {
                    throw protocol_error("input ended inside a frame");
                }
                have += n;
            }
            f.header = decode_header(f.storage.data());
            f.body_offset = header_size;
            f.body_size = r.frame_length - header_size;
            return f;
        }
        // Need more bytes: compact, then read ahead as much as fits.
        if (start_ != 0) {
            std::memmove(buffer_.data(), buffer_.data() + start_, available);
            start_ = 0;
            end_ = available;
        }
        std::size_t n = fill(buffer_.data() + end_, buffer_.size() - end_);
        if (n == 0) {
            if (end_ != start_) {
                throw protocol_error("input ended inside a frame");
            }
            return std::nullopt;
        }
        end_ += n;
    }
}

bool frame_reader::has_frame() const {
    return parse_frame(buffer_.data() + start_, end_ - start_, max_frame_).status
           == parse_status::good;
}

frame_writer::frame_writer(boost::asio::io_context &io, int fd) : out_(io, fd) {}

namespace {
bool is_reply(const char *data, std::size_t size) {
    return size > length_prefix_size
           && static_cast<unsigned char>(data[length_prefix_size])
                  == static_cast<unsigned char>(frame_kind::reply);
}
} // namespace

void frame_writer::write_all(const char *data, std::size_t size) {
    write_all(std::string(), data, size);
}

void frame_writer::write_all(const std::string &queued, const char *data, std::size_t size) {
    // Queued frames first, then this one: one writev, no copy. A write cut
    // short by EINTR (the interrupt signal of a cancelled request,
    // cancellation.hpp) goes on with the rest.
    std::array<boost::asio::const_buffer, 2> buffers{boost::asio::buffer(queued),
                                                     boost::asio::buffer(data, size)};
    while (buffers[0].size() + buffers[1].size() > 0) {
        boost::system::error_code ec;
        std::size_t n = boost::asio::write(out_, buffers, ec);
        if (ec && ec != boost::asio::error::interrupted) {
            throw std::runtime_error("writing to Erlang failed: " + ec.message());
        }
        std::size_t first = std::min(n, buffers[0].size());
        buffers[0] += first;
        buffers[1] += n - first;
    }
}

void frame_writer::drain(std::unique_lock<std::mutex> &lock) {
    try {
        while (!pending_.empty()) {
            std::string batch;
            batch.swap(pending_);
            lock.unlock();
            write_all(batch.data(), batch.size());
            lock.lock();
            if (pending_.empty()) {
                batch.clear();
                pending_.swap(batch); // keeps the capacity for the next batch
            }
        }
        writing_ = false;
    } catch (...) {
        if (!lock.owns_lock()) {
            lock.lock();
        }
        writing_ = false;
        throw;
    }
}

void frame_writer::send(const char *data, std::size_t size) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (writing_ || (is_reply(data, size) && holder_ == std::this_thread::get_id())) {
        pending_.append(data, size);
        return;
    }
    writing_ = true;
    std::string queued;
    queued.swap(pending_);
    lock.unlock();
    try {
        write_all(queued, data, size);
    } catch (...) {
        lock.lock();
        writing_ = false;
        throw;
    }
    lock.lock();
    if (pending_.empty()) {
        queued.clear();
        pending_.swap(queued);
    }
    drain(lock);
}

void frame_writer::hold() {
    std::lock_guard<std::mutex> lock(mutex_);
    holder_ = std::this_thread::get_id();
}

void frame_writer::release() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (holder_ == std::this_thread::get_id()) {
        holder_ = std::thread::id();
    }
    if (writing_ || pending_.empty()) {
        return; // the thread writing now takes the queue with it
    }
    writing_ = true;
    drain(lock);
}

void frame_writer::flush() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (writing_ || pending_.empty()) {
        return;
    }
    writing_ = true;
    drain(lock);
}

} // namespace erlang_python
