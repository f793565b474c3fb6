// The Python classes the term codec builds (erlang.Atom, erlang.Pid, ...), looked up once.
#pragma once

#include <pybind11/pybind11.h>

namespace erlang_python {

namespace py = pybind11;

// Classes from the pure-Python package `erlang` (python/erlang/_types.py).
struct python_types {
    py::object atom;          // erlang.Atom(str)
    py::object pid;           // erlang.Pid(etf_bytes)
    py::object ref;           // erlang.Ref(etf_bytes)
    py::object opaque;        // erlang.OpaqueTerm(kind, etf_bytes): funs, ports, bitstrings
    py::object improper_list; // erlang.ImproperList(items, tail)
    py::object frozen_list;   // erlang.FrozenList(items): a list that is a map key
    py::object frozen_dict;   // erlang.FrozenDict(items): a map that is a map key
    py::object freeze;        // erlang._types._freeze(key): the hashable form of a key
    py::object encoders;      // erlang._types._encoders: {class: fn} of register_encoder
    py::object erlang_error;  // erlang.ErlangError(RuntimeError)
    py::object erlang_hook;   // the str "__erlang__", looked up on classes
};

// Requires the GIL. Imports erlang._types (and so the package `erlang`) unless
// already done, and keeps its classes until release_python_types(). Throws
// py::error_already_set if the import fails.
void load_python_types();
// Requires the GIL. Drops the references; call before the interpreter finalizes.
// Afterwards load_python_types() and types() throw std::logic_error.
void release_python_types();
// Requires the GIL. The classes, loaded on first use: the port does not import
// the `erlang` package at start-up, only when a value needs one of its classes
// (an atom other than true/false/none/nil/undefined, a pid, an erlang.call
// error, an object the encoder does not convert directly, ...).
const python_types &types();

// Requires the GIL. A new reference to the erlang.Atom of an atom's name as
// ETF carries it (UTF-8, or latin-1 when !utf8). Atoms are immutable, so the
// Atom of a recent short name is reused from a small table. Null with
// Python's exception set when the name does not decode.
PyObject *atom_from_etf(const char *name, std::size_t size, bool utf8);

} // namespace erlang_python
