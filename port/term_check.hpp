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
    std::string error;       // what is wrong, when !ok
    std::size_t offset = 0;  // where it went wrong
    std::size_t depth = 0;   // deepest nesting seen
};

// Checks that [data, data + size) is exactly one ETF term with its version
// byte (131): every tag known, every length inside the buffer, nesting at
// most max_depth, no trailing bytes. Iterative: safe on any input.
term_check_result check_term(const char *data, std::size_t size,
                             std::size_t max_depth = default_max_depth);

} // namespace erlang_python
