// Finds the module and function a request names, without the import machinery on the hot path.
#include "module_lookup.hpp"

#include "recent_objects.hpp"

#include <cstdint>

namespace erlang_python {
namespace {

// {name: module} of the modules PyImport_GetModule has returned. It waits
// for a module that another thread is still importing (its __spec__ says
// `_initializing`) and checks that through two attribute lookups per call;
// a module it returned once is complete for good, so a module found in
// sys.modules that is the same object as the one remembered needs neither.
// Holds a module removed from sys.modules until the name is looked up again.
PyObject *complete_modules = nullptr;
constexpr Py_ssize_t max_remembered = 4096;

// Requires the GIL. A new reference, or null (with an exception set).
PyObject *slow_module(PyObject *name) {
    PyObject *m = PyImport_GetModule(name);
    if (m == nullptr) {
        if (PyErr_Occurred()) {
            return nullptr;
        }
        m = PyImport_Import(name);
        if (m == nullptr) {
            return nullptr;
        }
    }
    if (!PyUnicode_CheckExact(name)) {
        return m;
    }
    if (complete_modules == nullptr) {
        complete_modules = PyDict_New();
        if (complete_modules == nullptr) {
            Py_DECREF(m);
            return nullptr;
        }
    }
    if (PyDict_GET_SIZE(complete_modules) >= max_remembered) {
        PyDict_Clear(complete_modules);
    }
    if (PyDict_SetItem(complete_modules, name, m) != 0) {
        Py_DECREF(m);
        return nullptr;
    }
    return m;
}

// Requires the GIL. A borrowed reference to a remembered module that is
// still the one in sys.modules, or null (maybe with an exception set).
PyObject *known_module(PyObject *name) {
    if (complete_modules == nullptr || !PyUnicode_CheckExact(name)) {
        return nullptr;
    }
    PyObject *modules = PyImport_GetModuleDict();
    if (modules == nullptr || !PyDict_CheckExact(modules)) {
        return nullptr;
    }
    PyObject *m = PyDict_GetItemWithError(modules, name);
    if (m == nullptr) {
        return nullptr;
    }
    PyObject *known = PyDict_GetItemWithError(complete_modules, name);
    return known == m ? m : nullptr;
}

// The names of recent requests: interned str by their UTF-8 bytes, so a
// request's names cost no decoding, allocation or hashing.
recent_objects<128, 62> names;

// Data descriptors of the module type (__dict__, __class__, __annotations__,
// ...) win over the module's __dict__ in getattr: leave dunder names to it.
bool dunder(PyObject *name) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(name);
    return n >= 2 && PyUnicode_READ_CHAR(name, 0) == '_' && PyUnicode_READ_CHAR(name, 1) == '_';
}

// The functions recent requests found on the fast path, by the interned
// names they were found under. A dict's version tag (CPython 3.11: changed
// by every change to the dict) tells that neither sys.modules nor the
// module's __dict__ has changed since: the same function is found again
// without a lookup. The entry holds its names and the module, so that no
// other object can take their addresses; the function is the module dict's.
#if PY_VERSION_HEX < 0x030C0000
constexpr std::size_t found_slots = 64;
struct found_slot {
    PyObject *module_name = nullptr;   // strong
    PyObject *function_name = nullptr; // strong
    PyObject *module = nullptr;        // strong
    PyObject *modules = nullptr;       // sys.modules then, compared only
    std::uint64_t modules_version = 0;
    std::uint64_t dict_version = 0;
    PyObject *function = nullptr;      // borrowed from the module's dict
};
found_slot *found = nullptr; // found_slots of them, allocated on first use

std::uint64_t version(PyObject *dict) {
    return reinterpret_cast<PyDictObject *>(dict)->ma_version_tag;
}

found_slot &found_slot_for(PyObject *module_name, PyObject *function_name) {
    auto a = reinterpret_cast<std::uintptr_t>(module_name);
    auto b = reinterpret_cast<std::uintptr_t>(function_name);
    return found[((a >> 4) ^ (b >> 4) * 31) % found_slots];
}

// A borrowed reference to the function remembered, or null.
PyObject *found_again(PyObject *module_name, PyObject *function_name) {
    if (found == nullptr) {
        return nullptr;
    }
    found_slot &slot = found_slot_for(module_name, function_name);
    if (slot.module_name != module_name || slot.function_name != function_name) {
        return nullptr;
    }
    PyObject *modules = PyImport_GetModuleDict();
    if (modules != slot.modules || version(modules) != slot.modules_version
        || version(PyModule_GetDict(slot.module)) != slot.dict_version) {
        return nullptr;
    }
    return slot.function;
}

// Remembers f, just found in the dict of module m (the one sys.modules has
// under module_name) under function_name. Names that are not interned come
// from requests of another shape: not remembered.
void remember(PyObject *module_name, PyObject *function_name, PyObject *m, PyObject *f) {
    if (!PyUnicode_CHECK_INTERNED(module_name) || !PyUnicode_CHECK_INTERNED(function_name)) {
        return;
    }
    PyObject *modules = PyImport_GetModuleDict();
    if (found == nullptr) {
        found = new found_slot[found_slots];
    }
    found_slot &slot = found_slot_for(module_name, function_name);
    found_slot old = slot;
    Py_INCREF(module_name);
    Py_INCREF(function_name);
    Py_INCREF(m);
    slot = {module_name, function_name, m, modules, version(modules), version(PyModule_GetDict(m)), f};
    // Last: releasing a module may run Python code.
    Py_XDECREF(old.module_name);
    Py_XDECREF(old.function_name);
    Py_XDECREF(old.module);
}

void forget_found() {
    if (found == nullptr) {
        return;
    }
    for (std::size_t i = 0; i < found_slots; ++i) {
        Py_CLEAR(found[i].module_name);
        Py_CLEAR(found[i].function_name);
        Py_CLEAR(found[i].module);
    }
    delete[] found;
    found = nullptr;
}
#else
// No version tags to rely on: every call looks up.
PyObject *found_again(PyObject *, PyObject *) { return nullptr; }
void remember(PyObject *, PyObject *, PyObject *, PyObject *) {}
void forget_found() {}
#endif

// Requires the GIL. Python's own rule for source code (compile() raises the
// same ValueError): a name holding a NUL would be cut at it by the C APIs
// that take names as C strings, and name another module or function.
void reject_nul(PyObject *name, const char *what) {
    if (PyUnicode_Check(name)
        && PyUnicode_FindChar(name, 0, 0, PyUnicode_GET_LENGTH(name), 1) != -1) {
        PyErr_Format(PyExc_ValueError, "%s name cannot contain null bytes", what);
        throw py::error_already_set();
    }
}

} // namespace

py::object find_module(py::handle name) {
    if (PyObject *m = known_module(name.ptr())) {
        return py::reinterpret_borrow<py::object>(m);
    }
    if (PyErr_Occurred()) {
        throw py::error_already_set();
    }
    reject_nul(name.ptr(), "module");
    PyObject *m = slow_module(name.ptr());
    if (m == nullptr) {
        throw py::error_already_set();
    }
    return py::reinterpret_steal<py::object>(m);
}

py::object find_function(py::handle module, py::handle function) {
    if (PyObject *again = found_again(module.ptr(), function.ptr())) {
        return py::reinterpret_borrow<py::object>(again);
    }
    PyObject *f = function.ptr();
    reject_nul(f, "function");
    PyObject *m = known_module(module.ptr());
    if (m != nullptr && PyModule_CheckExact(m) && PyUnicode_CheckExact(f) && !dunder(f)) {
        PyObject *in_dict = PyDict_GetItemWithError(PyModule_GetDict(m), f);
        if (in_dict != nullptr) {
            py::object result = py::reinterpret_borrow<py::object>(in_dict);
            remember(module.ptr(), f, m, in_dict);
            return result;
        }
    }
    if (PyErr_Occurred()) {
        throw py::error_already_set();
    }
    py::object mod = find_module(module);
    PyObject *r = PyObject_GetAttr(mod.ptr(), f);
    if (r == nullptr) {
        throw py::error_already_set();
    }
    return py::reinterpret_steal<py::object>(r);
}

py::object name_str(const char *utf8, std::size_t size) {
    if (PyObject *kept = names.find(utf8, size)) {
        return py::reinterpret_borrow<py::object>(kept);
    }
    PyObject *s = PyUnicode_DecodeUTF8(utf8, Py_ssize_t(size), "strict");
    if (s == nullptr) {
        if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
            throw py::error_already_set();
        }
        PyErr_Clear();
        return py::object();
    }
    PyUnicode_InternInPlace(&s);
    names.keep(utf8, size, 0, s);
    return py::reinterpret_steal<py::object>(s);
}

void release_module_lookup() {
    forget_found();
    Py_CLEAR(complete_modules);
    names.clear();
}

} // namespace erlang_python
