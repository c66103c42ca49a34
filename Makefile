# The two commands: `make run` and `make test`. Everything else is a step they share.
# Presets: run uses `release`; test uses `asan` (ASan + UBSan), override with TEST_PRESET=debug.

RUN_PRESET  ?= release
TEST_PRESET ?= asan
JOBS        ?= $(shell nproc)

.PHONY: run test deps deps-test deps-web web build build-test format format-check bench clean

run: deps web
	cmake --preset $(RUN_PRESET)
	cmake --build build/$(RUN_PRESET) --target parley -j $(JOBS)
	./build/$(RUN_PRESET)/parley migrate
	exec ./build/$(RUN_PRESET)/parley serve

test: deps-test web
	cmake --preset $(TEST_PRESET)
	cmake --build build/$(TEST_PRESET) -j $(JOBS)
	scripts/run-tests.sh $(TEST_PRESET)
	@# The optimised binary `make run` serves must build too (-O2 warnings differ from -O0).
	cmake --preset $(RUN_PRESET)
	cmake --build build/$(RUN_PRESET) --target parley -j $(JOBS)

deps:
	scripts/install-deps.sh build

deps-test:
	scripts/install-deps.sh build test web
	scripts/install-node-deps.sh

# The web client served at / (web/dist, PARLEY_WEB_DIR's default): bundled by esbuild from npm.
deps-web:
	scripts/install-deps.sh web
	scripts/install-node-deps.sh

web: deps-web
	node web/build.mjs

build: deps
	cmake --preset $(RUN_PRESET)
	cmake --build build/$(RUN_PRESET) -j $(JOBS)

bench: deps
	scripts/install-deps.sh build bench
	bench/http/run.sh

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

format-check:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run --Werror

clean:
	rm -rf build
