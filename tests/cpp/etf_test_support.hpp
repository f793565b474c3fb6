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

inline std::string u16(std::uint32_t v) {
    return bytes({int(v >> 8 & 0xff), int(v & 0xff)});
}

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

// ATOM_EXT 'nonode@nohost', the node of every pid, port and ref below.
inline const std::string node = bytes({100, 0, 13}) + "nonode@nohost";

// Real terms from OTP 25's term_to_binary.
inline const std::string erl_pid
    = bytes({131, 88}) + node + bytes({0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0});
inline const std::string erl_ref
    = bytes({131, 90, 0, 3}) + node
      + bytes({0, 0, 0, 0, 0, 0, 121, 233, 37, 96, 0, 1, 15, 105, 247, 27});
inline const std::string erl_port = bytes({131, 89}) + node + bytes({0, 0, 0, 0, 0, 0, 0, 0});
// fun(X) -> X + 1 end, from erl_eval.
inline const std::string erl_fun = bytes(
    {131, 112, 0,   0,   0,   189, 1,   6,   83,  97,  170, 70,  21,  144, 209, 189, 241, 235,
     98,  209, 166, 235, 8,   0,   0,   0,   42,  0,   0,   0,   1,   100, 0,   8,   101, 114,
     108, 95,  101, 118, 97,  108, 97,  42,  98,  0,   50,  155, 13,  88,  100, 0,   13,  110,
     111, 110, 111, 100, 101, 64,  110, 111, 104, 111, 115, 116, 0,   0,   0,   9,   0,   0,
     0,   0,   0,   0,   0,   0,   104, 6,   97,  1,   106, 100, 0,   4,   110, 111, 110, 101,
     100, 0,   4,   110, 111, 110, 101, 116, 0,   0,   0,   0,   108, 0,   0,   0,   1,   104,
     5,   100, 0,   6,   99,  108, 97,  117, 115, 101, 97,  1,   108, 0,   0,   0,   1,   104,
     3,   100, 0,   3,   118, 97,  114, 97,  1,   100, 0,   1,   88,  106, 106, 108, 0,   0,
     0,   1,   104, 5,   100, 0,   2,   111, 112, 97,  1,   100, 0,   1,   43,  104, 3,   100,
     0,   3,   118, 97,  114, 97,  1,   100, 0,   1,   88,  104, 3,   100, 0,   7,   105, 110,
     116, 101, 103, 101, 114, 97,  1,   97,  1,   106, 106});
// fun lists:reverse/1
inline const std::string erl_export
    = bytes({131, 113, 100, 0, 5}) + "lists" + bytes({100, 0, 7}) + "reverse" + bytes({97, 1});

} // namespace etf_test
