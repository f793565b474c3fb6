#!/bin/sh
# Runs the runtime's Catch2 tests with real threads under ThreadSanitizer: executor pool,
# channels, channel registry, cancellation, frame writer (tags [threads], [channel],
# [frame_writer]). usage: run-tsan.sh PATH/TO/port_tests
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# halt_on_error: the first race fails the run. second_deadlock_stack: both stacks of a
# lock-order inversion. tsan.supp says what is suppressed and why.
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$here/tsan.supp}"
# Python's bytecode cache goes to the build folder, not the source tree.
export PYTHONPYCACHEPREFIX="${PYTHONPYCACHEPREFIX:-$(cd "$(dirname "$1")/.." && pwd)/pycache}"
exec "$1" "[threads],[channel],[frame_writer]"
