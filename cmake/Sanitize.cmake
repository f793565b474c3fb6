# ERLANG_PYTHON_SANITIZE=address|thread: instruments every target of this build (`make sanitize`, `make tsan`).
# address = AddressSanitizer + UndefinedBehaviorSanitizer; thread = ThreadSanitizer.
# Use a build folder of its own (build-asan, build-tsan): the flags apply to every target.
# CPython itself is not instrumented: link the shared libpython, and run with
# PYTHONMALLOC=malloc so ASan sees Python's allocations (tools/sanitize-env.sh).
set(ERLANG_PYTHON_SANITIZE "" CACHE STRING "Sanitizers for this build: address (ASan+UBSan), thread (TSan), or empty")
set_property(CACHE ERLANG_PYTHON_SANITIZE PROPERTY STRINGS "" address thread)

if(ERLANG_PYTHON_SANITIZE STREQUAL "address")
    # -fno-sanitize-recover: an undefined behaviour report ends the process,
    # so a test or the port fails instead of printing and going on.
    set(EP_SANITIZE_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined
        -fno-omit-frame-pointer)
elseif(ERLANG_PYTHON_SANITIZE STREQUAL "thread")
    set(EP_SANITIZE_FLAGS -fsanitize=thread -fno-omit-frame-pointer)
elseif(NOT ERLANG_PYTHON_SANITIZE STREQUAL "")
    message(FATAL_ERROR "ERLANG_PYTHON_SANITIZE must be address, thread or empty, not '${ERLANG_PYTHON_SANITIZE}'")
endif()

if(EP_SANITIZE_FLAGS)
    add_compile_options(${EP_SANITIZE_FLAGS})
    add_link_options(${EP_SANITIZE_FLAGS})
    message(STATUS "erlang_python: sanitizers ${EP_SANITIZE_FLAGS}")
endif()
