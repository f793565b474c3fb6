"""Pure-Python CPU-bound work, timed alike in the port (py:call) and in /usr/bin/python3 (as a script)."""
import sys
import time


def work():
    """The issue's measure of interpreter speed: a generator, integer arithmetic, a builtin."""
    return sum(i * i for i in range(3_000_000))


def run(reps):
    """Runs work() `reps` times: ([wall ns], [thread CPU ns]), one pair per run."""
    wall, cpu = [], []
    for _ in range(reps):
        w, c = time.perf_counter_ns(), time.thread_time_ns()
        work()
        cpu.append(time.thread_time_ns() - c)
        wall.append(time.perf_counter_ns() - w)
    return wall, cpu


if __name__ == "__main__":
    # `python3 bench_speed.py N`: one line per run, "wall_ns cpu_ns".
    for w, c in zip(*run(int(sys.argv[1]))):
        print(w, c)
