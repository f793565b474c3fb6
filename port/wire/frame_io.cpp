// Frame I/O over the protocol pipes: a read-ahead reader and a coalescing writer, blocking calls on the fds.
#include "wire/frame_io.hpp"

#include "wire/huge_pages.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/uio.h>
#include <unistd.h>

namespace erlang_python {
namespace {
constexpr std::size_t read_ahead = 256 * 1024;

// Unpinned, the VM and the port usually run on different vCPUs, and a
// thread blocked in read() lets its vCPU halt: waking a halted vCPU costs
// ~15-20 us on this kind of VM (guest halt polling is off), paid on every
// answer to a frame we just wrote. Polling the pipe for a while first keeps
// the vCPU awake; the VM's answer to a callback, or a lone caller's next
// request, comes within ~20 us.
// Bounded, and only when a read would block right after we wrote: an idle
// port sleeps. Bought: the unpinned reverse call 40-48 -> 18-22 us p50 in its
// slow mode (docs/benchmarks.md).
constexpr std::chrono::microseconds read_spin{50};
// How often the spare-CPU check reads /proc/loadavg (about 10 us a read).
constexpr std::chrono::milliseconds load_check_period{50};

std::chrono::microseconds spin_for_this_process() {
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    // Pinned to one CPU (taskset -c 0), the VM needs that CPU to answer:
    // a spin would only delay it.
    if (sched_getaffinity(0, sizeof cpus, &cpus) != 0 || CPU_COUNT(&cpus) < 2) {
        return std::chrono::microseconds(0);
    }
    return read_spin;
}

int online_cpus() {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? int(n) : 1;
}

// Tasks runnable on the whole machine now (the 4th field of /proc/loadavg,
// "running/total"), or -1.
int runnable_tasks() {
    int fd = ::open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    char text[128];
    ssize_t n = ::read(fd, text, sizeof text - 1);
    ::close(fd);
    if (n <= 0) {
        return -1;
    }
    text[n] = '\0';
    const char *p = text;
    for (int field = 0; field < 3 && p != nullptr; ++field) {
        p = std::strchr(p, ' ');
        p = p != nullptr ? p + 1 : nullptr;
    }
    return p != nullptr ? std::atoi(p) : -1;
}

// Waits until `fd` is ready for `events` (a descriptor someone made
// non-blocking answers EAGAIN instead of blocking).
void wait_ready(int fd, short events) {
    pollfd p{fd, events, 0};
    while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
}
} // namespace

owned_fd::~owned_fd() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

frame_reader::frame_reader(int fd, std::size_t max_frame)
    : in_(fd), max_frame_(max_frame), buffer_(read_ahead), spin_(spin_for_this_process()),
      cpus_(online_cpus()) {}

bool frame_reader::cpu_to_spare() {
    // A spin takes a CPU: with more tasks runnable than CPUs it would take it
    // from someone, the VM included (in an A/B on a loaded machine, spinning
    // anyway raised the small call's p99 from 30 to 75 us).
    auto now = std::chrono::steady_clock::now();
    if (now >= next_load_check_) {
        next_load_check_ = now + load_check_period;
        int runnable = runnable_tasks();
        spare_cpu_ = runnable >= 0 && runnable <= cpus_;
    }
    return spare_cpu_;
}

void frame_reader::wait_readable() {
    const auto until = std::chrono::steady_clock::now() + spin_;
    pollfd p{in_.get(), POLLIN, 0};
    while (::poll(&p, 1, 0) == 0 && std::chrono::steady_clock::now() < until) {
    }
}

std::size_t frame_reader::fill(char *at, std::size_t room, bool spin) {
    if (spin && spin_.count() != 0 && cpu_to_spare()) {
        wait_readable();
    }
    for (;;) {
        ssize_t n = ::read(in_.get(), at, room);
        if (n >= 0) {
            return std::size_t(n); // 0: end of input
        }
        if (errno == EINTR) {
            continue; // the interrupt signal of a cancelled request (cancellation.hpp)
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            wait_ready(in_.get(), POLLIN);
            continue;
        }
        throw protocol_error(std::string("reading from Erlang failed: ") + std::strerror(errno));
    }
}

std::optional<frame> frame_reader::next(bool spin) {
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
                std::size_t n = fill(f.storage.data() + have, r.frame_length - have, spin);
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
        std::size_t n = fill(buffer_.data() + end_, buffer_.size() - end_, spin);
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

frame_writer::frame_writer(int fd) : out_(fd) {}

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
    iovec buffers[2]
        = {{const_cast<char *>(queued.data()), queued.size()}, {const_cast<char *>(data), size}};
    while (buffers[0].iov_len + buffers[1].iov_len > 0) {
        iovec *first = buffers[0].iov_len != 0 ? &buffers[0] : &buffers[1];
        ssize_t n = ::writev(out_.get(), first, int(&buffers[2] - first));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                wait_ready(out_.get(), POLLOUT);
                continue;
            }
            throw std::runtime_error(std::string("writing to Erlang failed: ")
                                     + std::strerror(errno));
        }
        std::size_t written = std::size_t(n);
        for (iovec &b : buffers) {
            std::size_t taken = std::min(written, b.iov_len);
            b.iov_base = static_cast<char *>(b.iov_base) + taken;
            b.iov_len -= taken;
            written -= taken;
        }
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
