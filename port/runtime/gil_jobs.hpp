// One thread that runs the short jobs that need the GIL but must not cost the reader its time.
#pragma once

#include "wire/protocol.hpp"

namespace erlang_python {

// Any thread, without the GIL. Queues fn(ref), to run with the GIL held on
// the GIL-job thread (started by the first job), after the jobs queued
// before it. Used by cancels: raising in a cancelled request's thread and
// cancelling its coroutine both need the GIL, which a busy thread may hold
// for a while, so the reader hands them here. One thread for all of them
// (not one per job): 10,000 cancels at once are 10,000 queue entries, run
// in batches under one GIL hold, not 10,000 threads.
void run_with_gil(void (*fn)(ref_id), ref_id ref);

} // namespace erlang_python
