// The Python classes the term codec builds (erlang.Atom, erlang.Pid, ...), looked up once.
#include "python/python_types.hpp"

#include "python/recent_objects.hpp"

#include <memory>
#include <stdexcept>

namespace erlang_python {
namespace {
// Set once, under the GIL, and never replaced while the interpreter runs:
// a reference returned by types() stays valid.
std::unique_ptr<python_types> loaded;
// After release_python_types() nothing may load them again: references kept
// past Py_Finalize would be dropped at exit, without an interpreter.
bool released = false;

// Recent atoms by their name's bytes (tag: UTF-8 or latin-1).
recent_objects<64, 30> atoms;
} // namespace

void load_python_types() {
    if (loaded) {
        return;
    }
    if (released) {
        throw std::logic_error("erlang._types is no longer available: Python is finalizing");
    }
    // The import may release the GIL (import lock, file reads); another
    // thread may load the classes meanwhile, and then its copy is kept.
    auto m = py::module_::import("erlang._types");
    if (loaded) {
        return;
    }
    auto t = std::make_unique<python_types>();
    t->atom = m.attr("Atom");
    t->pid = m.attr("Pid");
    t->ref = m.attr("Ref");
    t->opaque = m.attr("OpaqueTerm");
    t->improper_list = m.attr("ImproperList");
    t->frozen_list = m.attr("FrozenList");
    t->frozen_dict = m.attr("FrozenDict");
    t->freeze = m.attr("_freeze");
    t->encoders = m.attr("_encoders");
    t->erlang_hook = py::reinterpret_steal<py::object>(PyUnicode_InternFromString("__erlang__"));
    t->erlang_error = m.attr("ErlangError");
    loaded = std::move(t);
}

void release_python_types() {
    released = true;
    atoms.clear();
    loaded.reset();
}

const python_types &types() {
    if (!loaded) {
        load_python_types();
    }
    return *loaded;
}

PyObject *atom_from_etf(const char *name, std::size_t size, bool utf8) {
    const unsigned char tag = utf8 ? 1 : 0;
    if (PyObject *kept = atoms.find(name, size, tag)) {
        Py_INCREF(kept);
        return kept;
    }
    PyObject *text = utf8 ? PyUnicode_DecodeUTF8(name, Py_ssize_t(size), "strict")
                          : PyUnicode_DecodeLatin1(name, Py_ssize_t(size), "strict");
    if (text == nullptr) {
        return nullptr;
    }
    PyObject *atom = PyObject_CallOneArg(types().atom.ptr(), text);
    Py_DECREF(text);
    // The call may have run Python code (the first one imports erlang._types),
    // even up to release_python_types().
    if (atom != nullptr && !released) {
        atoms.keep(name, size, tag, atom);
    }
    return atom;
}

} // namespace erlang_python
