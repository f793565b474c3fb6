// An owned, uninitialised byte array: frame storage without zero-filling large payloads.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>

namespace erlang_python {

class byte_buffer {
public:
    byte_buffer() = default;
    explicit byte_buffer(std::size_t size) : data_(new char[size ? size : 1]), size_(size) {}
    byte_buffer(const char *data, std::size_t size) : byte_buffer(size) {
        if (size != 0) {
            std::memcpy(data_.get(), data, size);
        }
    }

    char *data() { return data_.get(); }
    const char *data() const { return data_.get(); }
    std::size_t size() const { return size_; }

private:
    std::unique_ptr<char[]> data_;
    std::size_t size_ = 0;
};

} // namespace erlang_python
