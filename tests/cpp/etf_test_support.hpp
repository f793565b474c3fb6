// Test support for ETF bytes: hand-written terms, ei-written terms, and copies that fault on overread.
#pragma once

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <ei.h>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

namespace etf_test {

// Bytes written by hand; ints so that 131 and 255 need no casts.
inline std::string bytes(std::initializer_list<int> list) {
    std::string s;
    for (int b : list) {
        s += char(static_cast<unsigned char>(b));
    }
    return s;
}

inline std::string u16(std::uint32_t v) { return bytes({int(v >> 8 & 0xff), int(v & 0xff)}); }

inline std::string u32(std::uint32_t v) {
    return bytes({int(v >> 24 & 0xff), int(v >> 16 & 0xff), int(v >> 8 & 0xff), int(v & 0xff)});
}

// A term written with ei, version byte first.
class etf_writer {
public:
    etf_writer() { REQUIRE(ei_x_new_with_version(&x_) == 0); }
    etf_writer(const etf_writer &) = delete;
    etf_writer &operator=(const etf_writer &) = delete;
    ~etf_writer() { ei_x_free(&x_); }

    ei_x_buff *get() { return &x_; }
    std::string str() const { return std::string(x_.buff, std::size_t(x_.index)); }

private:
    ei_x_buff x_{};
};

// A copy of some bytes that ends right before an unreadable page: reading one
// byte past the end faults at once, even inside ei (which no sanitizer sees).
class guarded_copy {
public:
    explicit guarded_copy(const std::string &s) {
        std::size_t page = std::size_t(sysconf(_SC_PAGESIZE));
        size_ = ((s.size() + page - 1) / page + 1) * page;
        void *base
            = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (base == MAP_FAILED) {
            throw std::runtime_error("mmap failed");
        }
        base_ = static_cast<char *>(base);
        char *guard = base_ + size_ - page;
        if (mprotect(guard, page, PROT_NONE) != 0) {
            throw std::runtime_error("mprotect failed");
        }
        data_ = guard - s.size();
        if (!s.empty()) {
            std::memcpy(data_, s.data(), s.size());
        }
    }
    guarded_copy(const guarded_copy &) = delete;
    guarded_copy &operator=(const guarded_copy &) = delete;
    ~guarded_copy() { munmap(base_, size_); }

    const char *data() const { return data_; }

private:
    char *base_ = nullptr;
    std::size_t size_ = 0;
    char *data_ = nullptr;
};

} // namespace etf_test
