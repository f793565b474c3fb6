#!/bin/sh
# Runs a command (ctest, a test binary) with the environment an ASan+UBSan build needs:
# CPython's allocator off, the options below, the leak suppressions beside this script.
# usage: run-asan.sh COMMAND [ARG...]   (every process it starts inherits the settings)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# pymalloc serves small objects from its own arenas, where ASan sees no bounds: use malloc.
export PYTHONMALLOC=malloc
# detect_leaks=1 with lsan.supp: leaks are reported at a normal exit (Catch2, a port whose
# stdin closed), minus the interpreter's own (lsan.supp says which and why).
# handle_segv=0: the fault tests crash the port on purpose (ctypes.string_at(0)) and
# expect {port_exit, {signal, 11}}; ASan's SEGV handler would turn it into exit status 1.
# A real wild access in instrumented code is still caught by ASan's checks before it faults.
# quarantine_size_mb=64: freed memory held back for use-after-free checks (256 MB by
# default) would count as growth in the suites that bound the port's RSS.
# ASAN_QUARANTINE_MB overrides it: make sanitize runs py_fault_SUITE with 0, as its
# dead_callers case bounds the port's RSS growth between two rounds of 10,000 killed
# callers (< 8 MiB) and the quarantine fills up during the second round (README.md).
# allocator_may_return_null=1: a failed allocation returns NULL (Python raises MemoryError),
# as without ASan; max_memory's test depends on it.
# Off means off: each thread also holds up to 1 MiB of freed memory in its own quarantine
# before passing it on, and with hundreds of executor threads that grows the RSS too.
quarantine="quarantine_size_mb=${ASAN_QUARANTINE_MB:-64}"
if [ "${ASAN_QUARANTINE_MB:-64}" = 0 ]; then
    quarantine="$quarantine:thread_local_quarantine_size_kb=0"
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:handle_segv=0:$quarantine:allocator_may_return_null=1:detect_stack_use_after_return=0:strict_string_checks=0}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$here/lsan.supp:print_suppressions=0}"
# Any undefined behaviour ends the process (the build has -fno-sanitize-recover) with a stack.
# ASan's redzones make each level of the term codec's recursion about 3x larger: with the
# default 8 MiB stack, stack_guard stops at ~3,400 levels, short of the default depth limit
# the tests exercise. 64 MiB stacks (main thread, and std::thread's default follows it).
ulimit -s 65536
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# Cases ASan cannot run (make test runs them; README.md has the figures):
# - RLIMIT_AS (max_memory) and ASan's terabytes of reserved shadow memory cannot go together:
#   a port with a 1 GiB address-space limit fails at start ("Failed to mmap").
# - a speed bound: 10,000 coroutine calls answered within 3 s; ASan's checks and allocator
#   (PYTHONMALLOC=malloc) make each request slower (3.5 s measured).
export EP_CT_SKIP="${EP_CT_SKIP:-py_fault_SUITE:memory_limit_gives_memory_error py_asyncio_SUITE:ten_thousand_sleeping_coroutines_answer_within_three_seconds}"
export EP_CT_SKIP_WHY="${EP_CT_SKIP_WHY:-not runnable under ASan: tests/sanitize/README.md says why}"
exec "$@"
