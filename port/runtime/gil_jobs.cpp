// One thread that runs the short jobs that need the GIL but must not cost the reader its time.
#include "runtime/gil_jobs.hpp"

#include <Python.h>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace erlang_python {

namespace {

struct job {
    void (*fn)(ref_id);
    ref_id ref;
};

struct job_queue {
    std::mutex mutex;
    std::condition_variable wake;
    std::vector<job> jobs;
    bool started = false;
};

job_queue &the_queue() {
    static job_queue *q = new job_queue(); // never destroyed: the thread may outlive main
    return *q;
}

// The GIL-job thread: takes every queued job at once and runs them under
// one hold of the GIL. A job must not throw; one that does is dropped.
[[noreturn]] void run_jobs(job_queue &q) {
    std::vector<job> batch;
    for (;;) {
        {
            std::unique_lock<std::mutex> lock(q.mutex);
            q.wake.wait(lock, [&q] { return !q.jobs.empty(); });
            batch.swap(q.jobs);
        }
        PyGILState_STATE gil = PyGILState_Ensure();
        for (const job &j : batch) {
            try {
                j.fn(j.ref);
            } catch (...) {
            }
        }
        PyGILState_Release(gil);
        batch.clear();
    }
}

} // namespace

void run_with_gil(void (*fn)(ref_id), ref_id ref) {
    job_queue &q = the_queue();
    {
        std::lock_guard<std::mutex> lock(q.mutex);
        q.jobs.push_back(job{fn, ref});
        if (!q.started) {
            q.started = true;
            std::thread([&q] { run_jobs(q); }).detach();
        }
    }
    q.wake.notify_one();
}

} // namespace erlang_python
