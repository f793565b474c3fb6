// RAII owner of an ei_x_buff that holds one outgoing frame: prefix, header, then an ETF term.
#pragma once

#include "wire/frame_codec.hpp"

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdlib>
#include <ei.h>
#include <memory>
#include <stdexcept>

namespace erlang_python {

// Makes room for `more` bytes after x's index, doubling the buffer when it
// must grow. ei grows it by what each call needs plus 100 bytes, so a reply
// of a million small terms would be reallocated about a million times: cheap
// only while realloc can grow in place (glibc's mremap of large blocks);
// under ASan, whose realloc always copies, a reply of 1,000,000 strings took
// over 10 minutes (found by `make sanitize`). Doubling makes it linear.
inline void keep_room(ei_x_buff *x, std::size_t more) {
    // ei reallocates as soon as what a call needs plus its ei_x_extra (100
    // bytes) does not fit: keep more than that free, or ei grows it first.
    constexpr std::size_t ei_slack = 128;
    std::size_t size = std::size_t(x->buffsz), used = std::size_t(x->index);
    if (size - used >= more + ei_slack) {
        return;
    }
    std::size_t grown = std::max(size * 2, used + more + ei_slack);
    if (grown > std::size_t(INT_MAX)) {
        return; // ei's own size check reports it
    }
    void *p = std::realloc(x->buff, grown);
    if (p == nullptr) {
        throw std::bad_alloc();
    }
    x->buff = static_cast<char *>(p);
    x->buffsz = int(grown);
}

class term_buffer {
public:
    // Starts a frame: room for the prefix and header, then the ETF version byte.
    explicit term_buffer(const frame_header &header) : header_(header) {
        if (ei_x_new(&x_) != 0) {
            throw std::bad_alloc();
        }
        char prefix[length_prefix_size + header_size] = {};
        ei_x_append_buf(&x_, prefix, sizeof prefix);
        ei_x_encode_version(&x_);
    }
    term_buffer(const term_buffer &) = delete;
    term_buffer &operator=(const term_buffer &) = delete;
    ~term_buffer() { ei_x_free(&x_); }

    ei_x_buff *get() { return &x_; }

    // Starts another frame in the same storage (no allocation): for a buffer
    // reused from one request to the next.
    void restart(const frame_header &header) {
        header_ = header;
        reset_term();
    }

    // Bytes allocated, for a caller that keeps a buffer but not a huge one.
    std::size_t capacity() const { return std::size_t(x_.buffsz); }

    // Drops the term written so far (keeps the header) so an error can be encoded instead.
    void reset_term() {
        x_.index = int(length_prefix_size + header_size);
        ei_x_encode_version(&x_);
    }

    std::size_t body_size() const {
        return std::size_t(x_.index) - length_prefix_size - header_size;
    }

    // Fills in the prefix and header; returns the whole frame's bytes.
    const char *finish() {
        encode_prefix(x_.buff, body_size(), header_);
        return x_.buff;
    }
    std::size_t size() const { return std::size_t(x_.index); }

private:
    ei_x_buff x_{};
    frame_header header_;
};

// A term_buffer a thread keeps from one frame to the next, so a frame costs
// no allocation. One spare per Use (a tag type) and thread: a frame built
// while another of the same Use is being built on the thread (a nested
// request, an encoder hook calling erlang.call) finds the spare taken and
// makes its own; a buffer grown past 64 KiB is freed rather than kept.
template <class Use>
class kept_term_buffer {
public:
    explicit kept_term_buffer(const frame_header &header) : buf_(std::move(spare)) {
        if (buf_) {
            buf_->restart(header);
        } else {
            buf_ = std::make_unique<term_buffer>(header);
        }
    }
    ~kept_term_buffer() {
        if (!spare && buf_->capacity() <= keep_limit) {
            spare = std::move(buf_);
        }
    }
    kept_term_buffer(const kept_term_buffer &) = delete;
    kept_term_buffer &operator=(const kept_term_buffer &) = delete;

    term_buffer &operator*() { return *buf_; }
    term_buffer *operator->() { return buf_.get(); }

private:
    static constexpr std::size_t keep_limit = 64 * 1024;
    static thread_local std::unique_ptr<term_buffer> spare;
    std::unique_ptr<term_buffer> buf_;
};

template <class Use>
thread_local std::unique_ptr<term_buffer> kept_term_buffer<Use>::spare;

// Throws when an ei encoder reports failure (out of memory or a size past int).
inline void ei_check(int rc, const char *what) {
    if (rc != 0) {
        throw std::runtime_error(std::string("cannot encode ") + what);
    }
}

} // namespace erlang_python
