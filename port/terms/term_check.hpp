// Bounds-checked structural check of an ETF term, before ei (which trusts its input) decodes it.
#pragma once

#include <cstddef>
#include <string>

namespace erlang_python {

// How deep a value may nest: a list 10,000 levels deep is fine both ways,
// one much deeper is a clear error (never a stack overflow).
constexpr std::size_t default_max_depth = 10000;
// Levels a frame adds around the values it carries ({M, F, Args, Kwargs},
// {ok, Value}): not counted against the limit of the value itself.
constexpr std::size_t envelope_depth = 2;

struct term_check_result {
    bool ok = false;
    std::string error;      // what is wrong, when !ok
    std::size_t offset = 0; // where it went wrong
    std::size_t depth = 0;  // deepest nesting seen
};

// Checks that [data, data + size) is exactly one ETF term with its version
// byte (131): every tag known, every length inside the buffer, nesting at
// most max_depth, no trailing bytes. Iterative: safe on any input.
term_check_result
check_term(const char *data, std::size_t size, std::size_t max_depth = default_max_depth);

// Short scans for the usual small terms, which hold nothing check_term would
// need to look into: true when [data, data + size) is exactly such a term
// with its version byte, every length inside the buffer (then check_term
// would accept it too); false for anything else, valid or not (then ask
// check_term). Leaves are small integers, integers, new floats, binaries,
// small atoms, strings and nil.
// A leaf, or a tuple of leaves nesting at most max_depth levels.
bool small_flat_term(const char *data, std::size_t size, std::size_t max_depth);
// A call request {Binary, Binary, Args, #{}}, Args a leaf list (two levels).
bool small_call_term(const char *data, std::size_t size);

} // namespace erlang_python
