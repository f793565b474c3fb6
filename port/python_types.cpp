// The Python classes the term codec builds (erlang.Atom, erlang.Pid, ...), looked up once.
#include "python_types.hpp"

#include <cstdint>
#include <cstring>
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

// Recent atoms by their name's bytes: a direct-mapped table.
constexpr std::size_t max_atom_name = 30;
constexpr std::size_t atom_slots = 64;
struct atom_slot {
    PyObject *atom = nullptr; // strong
    unsigned char size = 0;
    bool utf8 = false;
    char name[max_atom_name];
};
atom_slot *atoms = nullptr; // atom_slots of them, allocated on first use

std::size_t atom_hash(const char *p, std::size_t n, bool utf8) {
    std::uint32_t h = 2166136261u ^ std::uint32_t(utf8); // FNV-1a
    for (std::size_t i = 0; i < n; ++i) {
        h = (h ^ static_cast<unsigned char>(p[i])) * 16777619u;
    }
    return (h ^ (h >> 15)) % atom_slots;
}

void forget_atoms() {
    if (atoms == nullptr) {
        return;
    }
    for (std::size_t i = 0; i < atom_slots; ++i) {
        Py_CLEAR(atoms[i].atom);
    }
    delete[] atoms;
    atoms = nullptr;
}
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
    forget_atoms();
    loaded.reset();
}

const python_types &types() {
    if (!loaded) {
        load_python_types();
    }
    return *loaded;
}

} // namespace erlang_python

namespace erlang_python {

PyObject *atom_from_etf(const char *name, std::size_t size, bool utf8) {
    atom_slot *slot = nullptr;
    if (size <= max_atom_name && !released) {
        if (atoms == nullptr) {
            atoms = new atom_slot[atom_slots];
        }
        slot = &atoms[atom_hash(name, size, utf8)];
        if (slot->atom != nullptr && slot->size == size && slot->utf8 == utf8
            && std::memcmp(slot->name, name, size) == 0) {
            Py_INCREF(slot->atom);
            return slot->atom;
        }
    }
    PyObject *text = utf8 ? PyUnicode_DecodeUTF8(name, Py_ssize_t(size), "strict")
                          : PyUnicode_DecodeLatin1(name, Py_ssize_t(size), "strict");
    if (text == nullptr) {
        return nullptr;
    }
    PyObject *atom = PyObject_CallOneArg(types().atom.ptr(), text);
    Py_DECREF(text);
    if (atom == nullptr || slot == nullptr) {
        return atom;
    }
    // The call may have run Python code (the first one imports erlang._types):
    // the table is looked up again.
    if (atoms == nullptr) {
        return atom;
    }
    slot = &atoms[atom_hash(name, size, utf8)];
    PyObject *old = slot->atom;
    Py_INCREF(atom);
    slot->atom = atom;
    slot->size = static_cast<unsigned char>(size);
    slot->utf8 = utf8;
    std::memcpy(slot->name, name, size);
    Py_XDECREF(old);
    return atom;
}

} // namespace erlang_python
