// A hint for large, fresh buffers: back them with transparent huge pages.
#pragma once

#include <cstddef>
#include <cstdint>
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

} // namespace erlang_python
