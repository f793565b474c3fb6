// A hint for large, fresh buffers: back them with transparent huge pages.
#pragma once

#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <ei.h>
#include <new>
#include <sys/mman.h>

namespace erlang_python {

// Buffers at least this large get the hint. Filling fresh memory costs one
// page fault per 4 KiB page (24,000 for 100 MB, most of the time of a large
// transfer on a VM); with huge pages it is one per 2 MiB.
constexpr std::size_t huge_page_hint_size = 4u << 20;

// Best effort, for memory not yet touched: asks the kernel for huge pages
// for the whole 4 KiB pages inside [data, data + size). Harmless when THP is
// off (the call fails and is ignored) or the memory is not anonymous.
inline void advise_huge_pages(void *data, std::size_t size) {
    if (size < huge_page_hint_size) {
        return;
    }
    constexpr std::uintptr_t page = 4096;
    auto begin = (reinterpret_cast<std::uintptr_t>(data) + page - 1) & ~(page - 1);
    auto end = (reinterpret_cast<std::uintptr_t>(data) + size) & ~(page - 1);
    if (end > begin) {
        (void)::madvise(reinterpret_cast<void *>(begin), end - begin, MADV_HUGEPAGE);
    }
}

// Before a large binary is copied into x: grows x's buffer so that more
// bytes (and a little slack) fit after its index, hinting the new room for
// huge pages while it is still untouched. Otherwise ei would grow it on its
// own, one 4 KiB fault at a time. ei allocates with malloc and realloc.
inline void reserve_huge(ei_x_buff *x, std::size_t more) {
    constexpr std::size_t slack = 4096; // what usually follows: the rest of a reply
    if (more < huge_page_hint_size || more > std::size_t(INT_MAX) - slack
        || std::size_t(x->index) > std::size_t(INT_MAX) - slack - more) {
        return; // small, or ei's own size check will report it
    }
    std::size_t need = std::size_t(x->index) + more + slack;
    if (need <= std::size_t(x->buffsz)) {
        return;
    }
    void *grown = std::realloc(x->buff, need);
    if (grown == nullptr) {
        throw std::bad_alloc();
    }
    x->buff = static_cast<char *>(grown);
    x->buffsz = int(need);
    advise_huge_pages(x->buff + x->index, more);
}

} // namespace erlang_python
