// How much stack the calling thread has left, for conversions that recurse
// once per nesting level. The depth limit alone assumes an 8 MiB stack; a
// Python thread started after threading.stack_size(256 * 1024) has far less.
#pragma once

#include <cstddef>
#include <cstdint>
#include <pthread.h>

namespace erlang_python {

// Conversions stop with a clean error when less than this is left: enough
// for the error path itself (exception objects, formatting, unwinding).
constexpr std::size_t stack_reserve = 64 * 1024;

namespace detail {

// The lowest address this thread's stack may grow to, plus the reserve;
// 0 if the stack cannot be known (then only the depth limit applies).
inline std::uintptr_t find_stack_floor() {
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) {
        return 0;
    }
    void *low = nullptr;
    std::size_t size = 0;
    int rc = pthread_attr_getstack(&attr, &low, &size);
    pthread_attr_destroy(&attr);
    if (rc != 0 || low == nullptr || size <= stack_reserve) {
        return 0;
    }
    return reinterpret_cast<std::uintptr_t>(low) + stack_reserve;
}

} // namespace detail

// True when the calling thread is within stack_reserve of its stack's end.
// The first call on a thread asks pthread for its stack (the main thread's
// answer comes from /proc/self/maps, so once); later calls compare a pointer.
inline bool stack_nearly_exhausted() {
    thread_local const std::uintptr_t floor = detail::find_stack_floor();
    return reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0)) < floor;
}

} // namespace erlang_python
