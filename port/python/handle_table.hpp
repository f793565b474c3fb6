// The objects Erlang holds handles to (py:call(..., #{return => ref})), by key.
#pragma once

#include <cstddef>
#include <deque>
#include <pybind11/pybind11.h>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace erlang_python {

namespace py = pybind11;

// One table per port process. A key is the ETF encoding of the Erlang
// reference the handle carries (made by make_ref() on the node that owns
// the handle), so a key of another node or of an earlier port process never
// matches. Every member requires the GIL, which is what makes the table
// thread-safe: no member runs Python code while it touches the maps (an
// object released is dropped after its entry is gone, so a finaliser that
// runs then may use the table again).
class handle_table {
public:
    // The process's table (never destroyed: it may hold objects at exit).
    static handle_table &instance();

    // Keeps obj under key, unless a release of key came first (the owner died
    // while the call that made it ran): then obj is dropped and false returned.
    bool store(const std::string &key, py::object obj);

    // A new reference to the object under key, or null.
    py::object find(const char *key, std::size_t size) const;

    // Drops the object under key. A key not (yet) stored is remembered, so
    // the store that comes later drops its object (at most max_early keys are
    // remembered, the oldest forgotten first).
    void release(const std::string &key);

    // Drops every object (Erlang lost track of them: its py_refs restarted).
    void clear();

    std::size_t size() const { return objects_.size(); }
    std::size_t early_releases() const { return early_.size(); }

    static constexpr std::size_t max_early = 65536;

private:
    std::unordered_map<std::string, py::object> objects_;
    std::unordered_set<std::string> early_;
    std::deque<std::string> early_order_;
};

} // namespace erlang_python
