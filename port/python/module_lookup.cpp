// Finds the module and function a request names, without the import machinery on the hot path.
#include "python/module_lookup.hpp"

#include "python/recent_objects.hpp"

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

// Requires the GIL. Whether sys.modules[name] is m (false with an exception
// set if the lookup failed).
bool still_in_sys_modules(PyObject *name, PyObject *m) {
    PyObject *modules = PyImport_GetModuleDict();
    if (modules == nullptr || !PyDict_CheckExact(modules)) {
        return true; // not a dict we can read cheaply: trust PyImport_GetModule
    }
    return PyDict_GetItemWithError(modules, name) == m;
}

// Requires the GIL. A new reference, or null (with an exception set).
PyObject *slow_module(PyObject *name) {
    PyObject *m = PyImport_GetModule(name);
    // PyImport_GetModule waits for a module another thread is importing and
    // returns the object it waited for, even when that import failed (a
    // cancel interrupted the module's body) and took it out of sys.modules:
    // a half-built module. Import again then: it re-runs the module or
    // raises the import's own error.
    if (m != nullptr && !still_in_sys_modules(name, m)) {
        Py_DECREF(m);
        if (PyErr_Occurred()) {
            return nullptr;
        }
        m = nullptr;
    }
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
    PyObject *f = function.ptr();
    reject_nul(f, "function");
    PyObject *m = known_module(module.ptr());
    if (m != nullptr && PyModule_CheckExact(m) && PyUnicode_CheckExact(f) && !dunder(f)) {
        PyObject *in_dict = PyDict_GetItemWithError(PyModule_GetDict(m), f);
        if (in_dict != nullptr) {
            py::object result = py::reinterpret_borrow<py::object>(in_dict);
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
    Py_CLEAR(complete_modules);
    names.clear();
}

} // namespace erlang_python
