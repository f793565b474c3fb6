// The one place where ETF and Python objects are converted into each other.
#pragma once

#include "terms/term_check.hpp"

#include <cstddef>
#include <ei.h>
#include <memory>
#include <pybind11/pybind11.h>
#include <stdexcept>
#include <string>
#include <vector>

namespace erlang_python {

namespace py = pybind11;

// A malformed or unsupported ETF term arrived.
class term_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Requires the GIL. Decodes one whole ETF term (with its version byte) into a
// Python object. Throws term_error for malformed input, py::error_already_set
// for Python-level failures (e.g. an unhashable map key).
py::object
decode_term(const char *data, std::size_t size, std::size_t max_depth = default_max_depth);

// A call request {Module, Function, Args, Kwargs} as decode_call leaves it.
// Destroy it with the GIL held.
class call_request {
public:
    call_request() = default;
    ~call_request() { drop_args(); }
    call_request(const call_request &) = delete;
    call_request &operator=(const call_request &) = delete;

    // The usual shape (names are binaries, Args a proper list): the names as
    // interned str, the arguments, and the keywords (null when Kwargs is
    // empty). Otherwise `other` holds the whole body decoded as any term.
    py::object module;
    py::object function;
    py::object kwargs;
    py::object other;

    // The arguments, with one free slot before the first, so that they can
    // be passed with PY_VECTORCALL_ARGUMENTS_OFFSET.
    PyObject *const *args() const { return argv_ + 1; }
    std::size_t argc() const { return argc_; }

    // Room for n arguments; then push them (new references) one by one.
    void reserve(std::size_t n);
    void push(PyObject *arg) { argv_[1 + argc_++] = arg; }
    void drop_args();

private:
    static constexpr std::size_t in_place = 8;
    PyObject *near_[in_place + 1];
    std::unique_ptr<PyObject *[]> far_;
    PyObject **argv_ = near_;
    std::size_t argc_ = 0;
};

// Requires the GIL. Decodes a call request's body (with its version byte)
// into out, without building the envelope tuple, the argument list, an
// empty keyword dict or the names (see call_request). Throws as decode_term.
void decode_call(const char *data, std::size_t size, std::size_t max_depth, call_request &out);

// A handle's key is the ETF encoding of its Erlang reference (handle_table.hpp).
// The key of a call_ref request {Module, Function, Args, Kwargs, Key}, and
// the keys of a release request [Key, ...]; both check the whole body first
// and throw term_error for another shape. No Python is involved.
std::string call_ref_key(const char *data, std::size_t size, std::size_t max_depth);
std::vector<std::string> handle_keys(const char *data, std::size_t size);
// Whether a release request's body is the atom `all` (every handle).
bool is_release_all(const char *data, std::size_t size);

// The atom Python's None is sent as: "none" (the default), "nil" or
// "undefined" (checked by the caller). Set once at start, before any
// conversion runs.
void set_none_atom(const std::string &name);

// Requires the GIL. Appends obj as ETF (no version byte) to x. Raises a
// Python TypeError naming the type for objects with no Erlang form.
void encode_term(ei_x_buff *x, py::handle obj, std::size_t max_depth = default_max_depth);

// Requires the GIL. Appends the list of `count` objects at `items` (held by
// the caller) as ETF, exactly as encode_term would a Python list of them.
void encode_list(ei_x_buff *x,
                 PyObject *const *items,
                 std::size_t count,
                 std::size_t max_depth = default_max_depth);

} // namespace erlang_python
