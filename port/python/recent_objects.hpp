// A small direct-mapped table of Python objects by short byte keys: the
// objects recent requests needed (interned names, erlang.Atom values), found
// again by their bytes without decoding, allocating or hashing in Python.
#pragma once

#include <Python.h>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace erlang_python {

// Slots entries; keys of up to MaxKey bytes, told apart by bytes and a tag
// byte (e.g. latin-1 vs UTF-8). A newer key takes its slot from an older one.
// Every member requires the GIL. The slots are allocated on the first keep().
template <std::size_t Slots, std::size_t MaxKey>
class recent_objects {
public:
    recent_objects() = default;
    recent_objects(const recent_objects &) = delete;
    recent_objects &operator=(const recent_objects &) = delete;

    static bool keeps(std::size_t size) { return size <= MaxKey; }

    // The object kept under the key (borrowed), or null.
    PyObject *find(const char *key, std::size_t size, unsigned char tag = 0) const {
        if (slots_ == nullptr || !keeps(size)) {
            return nullptr;
        }
        const slot &s = slots_[index(key, size, tag)];
        bool same = s.object != nullptr && s.size == size && s.tag == tag
                    && std::memcmp(s.key, key, size) == 0;
        return same ? s.object : nullptr;
    }

    // Keeps a new reference to obj under the key; a key too long is not kept.
    void keep(const char *key, std::size_t size, unsigned char tag, PyObject *obj) {
        if (!keeps(size)) {
            return;
        }
        if (slots_ == nullptr) {
            slots_ = new slot[Slots];
        }
        slot &s = slots_[index(key, size, tag)];
        PyObject *old = s.object;
        Py_INCREF(obj);
        s.object = obj;
        s.size = static_cast<unsigned char>(size);
        s.tag = tag;
        std::memcpy(s.key, key, size);
        Py_XDECREF(old); // last: releasing an object may run Python code
    }

    // Drops every object: call before the interpreter finalizes.
    void clear() {
        if (slots_ == nullptr) {
            return;
        }
        for (std::size_t i = 0; i < Slots; ++i) {
            Py_CLEAR(slots_[i].object);
        }
        delete[] slots_;
        slots_ = nullptr;
    }

private:
    static_assert(MaxKey <= 255, "key sizes are kept in a byte");

    struct slot {
        PyObject *object = nullptr; // strong
        unsigned char size = 0;
        unsigned char tag = 0;
        char key[MaxKey];
    };

    // Eight bytes at a time, then the rest.
    static std::size_t index(const char *p, std::size_t n, unsigned char tag) {
        std::uint64_t h = n ^ (std::uint64_t(tag) << 56);
        std::size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            std::uint64_t word = 0;
            std::memcpy(&word, p + i, 8);
            h = (h ^ word) * 0x9e3779b97f4a7c15u;
        }
        for (; i < n; ++i) {
            h = (h ^ static_cast<unsigned char>(p[i])) * 0x100000001b3u;
        }
        return std::size_t(h ^ (h >> 29) ^ (h >> 47)) % Slots;
    }

    slot *slots_ = nullptr;
};

} // namespace erlang_python
