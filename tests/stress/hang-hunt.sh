#!/bin/sh
# Runs one Common Test suite again and again under a condition, and counts passes, failures and hangs.
# usage: hang-hunt.sh BUILD SUITE RUNS CONDITION [LIMIT_S]
#   CONDITION: plain | load (stress-ng on every CPU) | pin (the run on CPU 0) | pin+load
#   A run that takes over LIMIT_S seconds (default 600) counts as a hang: before it is
#   killed, the kernel stacks of the port's threads and the CT log folder are kept.
# Prints one line per run and a summary; exits 1 if any run hung or failed.
set -u
build=$(cd "$1" && pwd) suite=$2 runs=$3 condition=$4 limit=${5:-600}
out="$build/hang-hunt/$suite-$condition"
mkdir -p "$out"
load_pid=""
case "$condition" in
    *load*)
        # Busy loops on every CPU, at the lowest priority: they take what the run leaves.
        nice -n 19 stress-ng --cpu 0 --cpu-method matrixprod --quiet &
        load_pid=$!
        ;;
esac
pin=""
case "$condition" in
    pin*) pin="taskset -c 0" ;;
esac
stop_load() { [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null; load_pid=""; }
trap stop_load EXIT
trap 'stop_load; exit 130' INT TERM
pass=0 fail=0 hang=0
i=1
while [ "$i" -le "$runs" ]; do
    logs="$out/run$i"
    mkdir -p "$logs"
    start=$(date +%s)
    $pin nice sh "$build/../tests/ct/run-ct.sh" "$build/ct" "$build/lib/erlang_python/ebin" \
        "$logs" "$suite" > "$logs/stdout.txt" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null && [ $(( $(date +%s) - start )) -lt "$limit" ]; do
        sleep 1
    done
    if kill -0 "$pid" 2>/dev/null; then
        hang=$((hang + 1))
        result="HANG"
        for p in $(pgrep -f "$build/lib/erlang_python/priv"); do
            for t in /proc/"$p"/task/*; do
                echo "== $t $(cat "$t/comm")"; cat "$t/stack" 2>/dev/null; cat "$t/wchan" 2>/dev/null; echo
            done
        done > "$logs/port-stacks.txt" 2>&1
        pkill -P "$pid"; kill "$pid"
        wait "$pid"
    else
        wait "$pid"
        rc=$?
        if [ "$rc" -eq 0 ]; then pass=$((pass + 1)); result=pass
        else fail=$((fail + 1)); result="FAIL($rc)"; fi
    fi
    echo "$suite $condition run $i: $result in $(( $(date +%s) - start )) s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    i=$((i + 1))
done
echo "$suite under $condition: $runs runs, $pass passed, $fail failed, $hang hung (limit $limit s)"
[ "$fail" -eq 0 ] && [ "$hang" -eq 0 ]
