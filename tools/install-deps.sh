#!/bin/sh
# Installs the Debian packages a build needs, when they are missing.
# usage: install-deps.sh [lib|test|docs|bench|fuzz|sanitize|stress|lint] [--check]
#   lib (default)  what the library needs: the port program, the Python package, the OTP app
#   test           lib plus every tool `make test` runs (Catch2, pytest, Hypothesis, PropEr,
#                  numpy, Common Test, and rebar3, elixir and git for the packaging tests)
#   docs           what `make docs` needs (edoc)
#   bench, fuzz    what `make bench` (the plot) and `make fuzz` (clang) add
#   lint           what `make lint` and `make fmt` need (clang-format 14 on Debian 12)
# As root it runs apt-get; otherwise, or with --check, it prints the exact command to
# run and fails.
set -eu
lib_packages="g++ make cmake python3-dev pybind11-dev erlang-dev"
docs_packages="erlang-edoc"
test_packages="$lib_packages $docs_packages catch2 erlang-common-test python3-pytest
erlang-proper erlang-proper-dev python3-hypothesis python3-numpy python3-venv rebar3 elixir git"
bench_packages="gnuplot-nox"
fuzz_packages="clang libclang-rt-14-dev"
# sanitize: the GCC sanitizer runtimes `make sanitize`/`make tsan` link (g++ normally
# brings them); stress: stress-ng, the CPU load of the hang hunt.
sanitize_packages="libasan8 libubsan1 libtsan2"
stress_packages="stress-ng"
lint_packages="clang-format"

set_name=lib
check_only=no
for arg in "$@"; do
    case "$arg" in
        lib|test|docs|bench|fuzz|sanitize|stress|lint) set_name=$arg ;;
        --check) check_only=yes ;;
        *) echo "usage: $0 [lib|test|docs|bench|fuzz|sanitize|stress|lint] [--check]" >&2; exit 2 ;;
    esac
done
eval "packages=\$${set_name}_packages"

if ! command -v dpkg-query >/dev/null 2>&1; then
    # Not Debian: nothing to ask; CMake names what it cannot find.
    exit 0
fi
missing=""
for p in $packages; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
if [ "$check_only" = yes ] || [ "$(id -u)" -ne 0 ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo "
    echo "erlang_python: missing Debian packages:$missing" >&2
    echo "Install them with:  ${sudo}apt-get update && ${sudo}apt-get install -y --no-install-recommends$missing" >&2
    exit 1
fi
echo "Installing missing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing
