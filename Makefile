# Thin wrapper over CMake: `make demo` and `make test` are all a new user needs.
BUILD ?= build
JOBS ?= $(shell nproc)
ERL_PATH = $(BUILD)/lib/erlang_python/ebin

.PHONY: all deps build build-tests test docs demo shell bench fuzz sanitize tsan soak lint fmt clean

all: build

deps:
	@./tools/install-deps.sh lib

# The library alone (port program, Python package, OTP application): needs only
# g++, cmake, python3-dev, pybind11-dev and erlang-dev. A build folder
# configured by `make test` keeps its tests.
build: deps
	cmake -S . -B $(BUILD)
	cmake --build $(BUILD) -j$(JOBS)

# The library, the test suites and the benchmarks, with every tool they need.
build-tests:
	@./tools/install-deps.sh test
	cmake -S . -B $(BUILD) -DERLANG_PYTHON_TESTS=ON
	cmake --build $(BUILD) -j$(JOBS)

# Builds everything and runs every suite (Catch2, pytest, Common Test, packaging).
test: build-tests
	cd $(BUILD) && ctest --output-on-failure

# The edoc pages of the OTP application into $(BUILD)/doc; fails on an edoc error.
docs:
	@./tools/install-deps.sh docs
	escript tools/docs.escript $(CURDIR) $(BUILD)/doc

# Starts the application and runs the threading scenarios of the spec.
demo: build
	escript demo/demo.escript $(ERL_PATH)

# An Erlang shell with erlang_python started.
shell: build
	erl -pa $(ERL_PATH) -eval '{ok, _} = application:ensure_all_started(erlang_python).'

# Builds, then measures against an echo-port floor, pinned then unpinned (under 5 minutes):
# bench/results.json, bench/details.json, bench/latency.png and a table on stdout.
bench: build-tests
	@./tools/install-deps.sh bench
	timeout 300 erl -noshell -pa $(BUILD)/bench/ebin -pa $(ERL_PATH) \
		-run py_bench main $(abspath $(BUILD)) $(CURDIR)

# Builds the libFuzzer target with clang in its own folder, runs the smoke test, then
# fuzzes for FUZZ_TIME seconds; new inputs go to $(FUZZ_BUILD)/corpus, crashes to $(FUZZ_BUILD)/.
FUZZ_BUILD ?= build-fuzz
FUZZ_TIME ?= 600
fuzz:
	@./tools/install-deps.sh test
	@./tools/install-deps.sh fuzz
	CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DERLANG_PYTHON_TESTS=ON -DERLANG_PYTHON_FUZZ=ON
	cmake --build $(FUZZ_BUILD) --target fuzz_codec -j$(JOBS)
	cd $(FUZZ_BUILD) && ctest -R fuzz_smoke --output-on-failure
	mkdir -p $(FUZZ_BUILD)/corpus
	$(FUZZ_BUILD)/tests/fuzz/fuzz_codec -max_total_time=$(FUZZ_TIME) -timeout=10 \
		-print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/ $(FUZZ_BUILD)/corpus tests/fuzz/corpus

# ASan+UBSan build in its own folder (port, Catch2 tests), then every ctest suite against
# it: Catch2, pytest and Common Test (tests/sanitize/README.md: options and suppressions).
# The packaging tests (rebar3, mix) build their own, unsanitized port: `make test` runs them.
# The shared libpython: the leak suppressions name libpython3.11.so (tests/sanitize/README.md).
# py_fault_SUITE runs apart, without ASan's quarantine (the reason is in that README).
ASAN_BUILD ?= build-asan
sanitize:
	@./tools/install-deps.sh test
	@./tools/install-deps.sh sanitize
	cmake -S . -B $(ASAN_BUILD) -DERLANG_PYTHON_TESTS=ON -DERLANG_PYTHON_SANITIZE=address \
		-DERLANG_PYTHON_STATIC_PYTHON=OFF
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && $(CURDIR)/tests/sanitize/run-asan.sh ctest --output-on-failure \
		-E '^package_|^py_fault_SUITE$$'
	cd $(ASAN_BUILD) && ASAN_QUARANTINE_MB=0 $(CURDIR)/tests/sanitize/run-asan.sh \
		ctest --output-on-failure -R '^py_fault_SUITE$$'

# ThreadSanitizer build of the Catch2 tests; runs the runtime's tests (executor pool,
# channels, cancellation, frame writer) with real threads.
TSAN_BUILD ?= build-tsan
tsan:
	@./tools/install-deps.sh test
	@./tools/install-deps.sh sanitize
	cmake -S . -B $(TSAN_BUILD) -DERLANG_PYTHON_TESTS=ON -DERLANG_PYTHON_SANITIZE=thread
	cmake --build $(TSAN_BUILD) --target port_tests -j$(JOBS)
	tests/sanitize/run-tsan.sh $(TSAN_BUILD)/tests/port_tests

# The chaos soak (tests/soak/py_soak.erl): mixed load, random faults, invariants;
# SOAK_S seconds after a warm-up; exits non-zero on any violation.
SOAK_S ?= 600
soak: build
	mkdir -p $(BUILD)/soak
	erlc -o $(BUILD)/soak tests/soak/py_soak.erl
	nice erl -noshell +A 4 -pa $(ERL_PATH) -pa $(BUILD)/soak \
		-run py_soak main $(SOAK_S) $(CURDIR)/tests/soak

# The C++ sources clang-format checks (.clang-format: pybind11's style).
FORMAT_FILES = $(shell git ls-files 'port/*.cpp' 'port/*.hpp' 'tests/cpp/*.cpp' 'tests/cpp/*.hpp' 2>/dev/null)

# Checks without changing anything: the format of port/ and tests/cpp (clang-format 14,
# --dry-run -Werror: each line that would change is an error), the public-CPython-API
# check and the layer check of port/.
lint:
	@./tools/install-deps.sh lint
	clang-format --dry-run -Werror $(FORMAT_FILES)
	tools/check-public-api.sh
	tools/check-layers.sh

# Applies .clang-format to port/ and tests/cpp in place.
fmt:
	@./tools/install-deps.sh lint
	clang-format -i $(FORMAT_FILES)

clean:
	rm -rf $(BUILD)
