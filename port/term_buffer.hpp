// RAII owner of an ei_x_buff that holds one outgoing frame: prefix, header, then an ETF term.
#pragma once

#include "frame_codec.hpp"

#include <ei.h>
#include <stdexcept>

namespace erlang_python {

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

    std::size_t body_size() const { return std::size_t(x_.index) - length_prefix_size - header_size; }

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

// Throws when an ei encoder reports failure (out of memory or a size past int).
inline void ei_check(int rc, const char *what) {
    if (rc != 0) {
        throw std::runtime_error(std::string("cannot encode ") + what);
    }
}

} // namespace erlang_python
