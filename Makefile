# cpsync — build, run, test. `make run` and `make test` install what is missing first (Debian/Ubuntu).
SWIFT ?= swift
BUILD_FLAGS ?=
PROPERTY_SEEDS ?= 50
export PROPERTY_SEEDS

.PHONY: deps test-deps build release run test bench bench-core bench-sync bench-load soak fuzz clean

# System packages the build needs (the SQLite headers). Idempotent; only installs what is absent.
deps:
	@bash .ci/install-deps build

# Everything the test suite drives for real: nginx, chromium, openssl, systemd-analyze, the OpenAPI validator.
test-deps: deps
	@bash .ci/install-deps test

build: deps
	$(SWIFT) build $(BUILD_FLAGS)

release: deps
	$(SWIFT) build -c release

# The daemon on the default data directory (./cpsync-data) plus a demo of two offices syncing.
run: build
	@bash deploy/demo.sh

test: test-deps
	$(SWIFT) build --build-tests $(BUILD_FLAGS)
	$(SWIFT) test --skip-build --parallel --num-workers 2 $(BUILD_FLAGS)

bench: bench-core bench-sync

bench-core: release
	.build/release/cpsync-bench core --rows 100000

bench-sync: release
	.build/release/cpsync-bench sync --cells 100000

# 300 offices syncing at once against a real daemon, plus 50 slowloris clients and a health check every 50 ms.
bench-load: release
	.build/release/cpsync-bench load --offices 300 --slow 50

# Long property runs: PROPERTY_SEEDS=2000 make soak
soak: build
	PROPERTY_SEEDS=$${PROPERTY_SEEDS:-2000} $(SWIFT) test --filter 'Convergence'

clean:
	$(SWIFT) package clean
