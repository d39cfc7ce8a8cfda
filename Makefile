# tlm — the two commands a fresh Debian machine needs are `make train` and `make test`.
# Every target first installs missing Debian packages (scripts/install_deps.sh), then
# builds with CMake (Release) in build/.
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?=

.PHONY: all deps configure build test bench bench-e2e train clean test-sanitize

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
train: build
	@./$(BUILD)/tlm train --sample 300 $(TRAIN_ARGS)

# tlm against the PyTorch reference (needs python3-torch), both configs; see bench/RESULTS.md.
bench-e2e: build
	@bash bench/e2e.sh baby 3 && bash bench/e2e.sh w384 1 200

test-sanitize:
	@$(MAKE) --no-print-directory test BUILD=build-sanitize CMAKE_FLAGS="-DTLM_SANITIZE=ON -DTLM_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo"

clean:
	rm -rf build build-sanitize build.configure.log build-sanitize.configure.log
