// Compiled code for eval/exec sources, kept in a small least-recently-used cache.
#include "python/code_cache.hpp"

#include <cstring>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace erlang_python {
namespace {

constexpr std::size_t max_entries = 128;
constexpr std::size_t max_source = 16 * 1024;

// Used with the GIL held only. Keys are the UTF-8 sources; the index views
// the strings in the list's nodes, so a lookup copies nothing.
class lru {
public:
    // A borrowed reference, or null. A hit becomes the most recent entry.
    PyObject *find(std::string_view source) {
        auto it = index_.find(source);
        if (it == index_.end()) {
            return nullptr;
        }
        order_.splice(order_.begin(), order_, it->second);
        return it->second->second;
    }

    // Takes a new reference to code. The entry pushed out (if any) is released last.
    void add(std::string_view source, PyObject *code) {
        if (find(source) != nullptr) {
            return; // compiled meanwhile by another thread
        }
        Py_INCREF(code);
        order_.emplace_front(std::string(source), code);
        index_.emplace(std::string_view(order_.front().first), order_.begin());
        if (order_.size() > max_entries) {
            PyObject *old = order_.back().second;
            index_.erase(std::string_view(order_.back().first));
            order_.pop_back();
            Py_DECREF(old);
        }
    }

    void clear() {
        std::list<std::pair<std::string, PyObject *>> gone;
        gone.swap(order_);
        index_.clear();
        for (auto &entry : gone) {
            Py_DECREF(entry.second);
        }
    }

private:
    std::list<std::pair<std::string, PyObject *>> order_; // most recent first
    std::unordered_map<std::string_view, std::list<std::pair<std::string, PyObject *>>::iterator>
        index_;
};

lru &cache_for(int mode) {
    // Leaked on purpose: emptied by release_code_cache() while Python still runs.
    static lru *eval_cache = new lru();
    static lru *exec_cache = new lru();
    return mode == Py_eval_input ? *eval_cache : *exec_cache;
}

} // namespace

py::object compiled_code(py::handle source, int mode) {
    Py_ssize_t size = 0;
    const char *text = PyUnicode_AsUTF8AndSize(source.ptr(), &size);
    if (text == nullptr) {
        throw py::error_already_set();
    }
    std::string_view key(text, std::size_t(size));
    lru &cache = cache_for(mode);
    if (PyObject *code = cache.find(key)) {
        return py::reinterpret_borrow<py::object>(code);
    }
    // Py_CompileString reads a C string: source holding a NUL would be cut
    // there, so it is refused as compile() refuses it.
    if (std::memchr(text, 0, std::size_t(size)) != nullptr) {
        PyErr_SetString(PyExc_ValueError, "source code string cannot contain null bytes");
        throw py::error_already_set();
    }
    PyObject *code = Py_CompileString(text, "<string>", mode);
    if (code == nullptr) {
        throw py::error_already_set();
    }
    py::object result = py::reinterpret_steal<py::object>(code);
    if (key.size() <= max_source) {
        cache.add(key, code);
    }
    return result;
}

void release_code_cache() {
    cache_for(Py_eval_input).clear();
    cache_for(Py_file_input).clear();
}

} // namespace erlang_python
