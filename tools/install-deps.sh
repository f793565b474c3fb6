#!/bin/sh
# Installs the Debian packages the build and the tests need, when they are missing.
# As root it runs apt-get; otherwise it prints the exact command to run.
# `install-deps.sh bench` checks only what `make bench` adds (gnuplot-nox, for the plot).
set -eu
packages="g++ make cmake python3-dev pybind11-dev libboost-dev catch2 erlang-dev
erlang-common-test python3-pytest erlang-proper erlang-proper-dev python3-hypothesis
python3-numpy"
bench_packages="gnuplot-nox"
# `install-deps.sh fuzz`: what `make fuzz` adds (clang and its libFuzzer/sanitizer runtimes).
fuzz_packages="clang libclang-rt-14-dev"
# `install-deps.sh sanitize`: the GCC sanitizer runtimes `make sanitize`/`make tsan` link
# (g++ normally brings them); `install-deps.sh stress`: stress-ng, the CPU load of the hang hunt.
sanitize_packages="libasan8 libubsan1 libtsan2"
stress_packages="stress-ng"
if [ "${1:-}" = sanitize ]; then
    packages="$sanitize_packages"
fi
if [ "${1:-}" = stress ]; then
    packages="$stress_packages"
fi
if [ "${1:-}" = bench ]; then
    packages="$bench_packages"
fi
if [ "${1:-}" = fuzz ]; then
    packages="$fuzz_packages"
fi
missing=""
for p in $packages; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "Missing Debian packages:$missing" >&2
    echo "Install them with:  sudo apt-get update && sudo apt-get install -y --no-install-recommends$missing" >&2
    exit 1
fi
echo "Installing missing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing
