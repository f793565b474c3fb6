// The objects Erlang holds handles to (py:call(..., #{return => ref})), by key.
#include "python/handle_table.hpp"

#include <utility>

namespace erlang_python {

handle_table &handle_table::instance() {
    // Leaked on purpose: a static py::object would be destroyed after Python finalizes.
    static handle_table *table = new handle_table();
    return *table;
}

// Requires the GIL.
bool handle_table::store(const std::string &key, py::object obj) {
    if (early_.erase(key) != 0) {
        // early_order_ keeps the key until it is the oldest: harmless, as a
        // key (a fresh Erlang reference) is stored at most once.
        return false; // obj is dropped by the caller's reference going out of scope
    }
    objects_[key] = std::move(obj);
    return true;
}

// Requires the GIL.
py::object handle_table::find(const char *key, std::size_t size) const {
    auto it = objects_.find(std::string(key, size));
    if (it == objects_.end()) {
        return py::object();
    }
    return it->second;
}

// Requires the GIL; may run Python code (the object's finaliser), after the
// table is consistent again.
void handle_table::release(const std::string &key) {
    auto it = objects_.find(key);
    if (it != objects_.end()) {
        py::object dropped = std::move(it->second);
        objects_.erase(it);
        return; // `dropped` goes here, with the entry already gone
    }
    if (early_.insert(key).second) {
        early_order_.push_back(key);
        while (early_order_.size() > max_early) {
            early_.erase(early_order_.front());
            early_order_.pop_front();
        }
    }
}

// Requires the GIL; may run Python code, after the table is empty.
void handle_table::clear() {
    std::unordered_map<std::string, py::object> dropped;
    dropped.swap(objects_);
    // `dropped` goes here, its entries no longer in the table
}

} // namespace erlang_python
