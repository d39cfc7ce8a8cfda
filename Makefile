# tlm — the two commands a fresh Debian machine needs are `make train` and `make test`.
# Every target first installs missing Debian packages (scripts/install_deps.sh), then
# builds with CMake (Release) in build/.
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?=

.PHONY: all deps configure build test bench bench-e2e train clean test-sanitize fuzz

all: build

deps:
	@bash scripts/install_deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) > $(BUILD).configure.log 2>&1 || (cat $(BUILD).configure.log; exit 1)

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600

bench: build
	@bash bench/run.sh $(BUILD)

# The main job: a small GPT on the built-in corpus (Debian's fortunes), then a sample.
# Quiet: the build's output is shown only if it fails, so what is printed is tlm's own.
train: configure
	@cmake --build $(BUILD) -j $(JOBS) > $(BUILD).build.log 2>&1 || (cat $(BUILD).build.log; exit 1)
	@./$(BUILD)/tlm train --sample 300 $(TRAIN_ARGS)

# tlm against the PyTorch reference bench/torch_gpt.py (needs python3-torch), baby and w384;
# bench/e2e.sh --help lists the other configs and modes; see bench/RESULTS.md.
bench-e2e: build
	@bash bench/e2e.sh baby 3 && bash bench/e2e.sh w384 1 200

# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer).
test-sanitize:
	@$(MAKE) --no-print-directory test BUILD=build-sanitize CMAKE_FLAGS="-DTLM_SANITIZE=ON -DTLM_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo"

# libFuzzer on every parser of outside input (tests/fuzz/), FUZZ_SECONDS per target. Needs
# clang: its packages are installed here only, never by `make test`.
FUZZ_SECONDS ?= 60
fuzz:
	@bash scripts/install_deps.sh fuzz
	@cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTLM_FUZZ=ON -DTLM_BUILD_TESTS=OFF -DTLM_BUILD_BENCH=OFF > build-fuzz.configure.log 2>&1 || (cat build-fuzz.configure.log; exit 1)
	@cmake --build build-fuzz --target fuzz_all -j $(JOBS)
	@bash scripts/fuzz.sh build-fuzz $(FUZZ_SECONDS)

clean:
	rm -rf build build-sanitize build-fuzz build.build.log build.configure.log build-sanitize.configure.log build-fuzz.configure.log
