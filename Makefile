# cpsync — build, run, test. `make run` and `make test` install what is missing first (Debian/Ubuntu).
SWIFT ?= swift
BUILD_FLAGS ?=
PROPERTY_SEEDS ?= 50
export PROPERTY_SEEDS

.PHONY: deps test-deps build release run test bench bench-core bench-sync bench-scope bench-scope-large bench-snapshot bench-snapshot-large bench-load bench-load-1000 bench-load-3000 bench-quiescent bench-wire bench-attach soak soak-convergence soak-e2e soak-attach test-large-files fuzz clean

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

bench: bench-core bench-sync bench-scope

bench-core: release
	.build/release/cpsync-bench core --rows 100000

bench-sync: release
	.build/release/cpsync-bench sync --cells 100000

# 300 offices syncing at once against a real daemon, plus 50 slowloris clients and a health check every 50 ms.
bench-load: release
	.build/release/cpsync-bench load --offices 300 --slow 50

# A city's worth of offices on one daemon (issue 22): 1,000 offices at once, then 3,000 (shed with 503 and a paced
# Retry-After, retried as the office client retries). The bench raises its own descriptor limit toward the hard one.
bench-load-1000: release
	.build/release/cpsync-bench load --offices 1000 --slow 50

bench-load-3000: release
	.build/release/cpsync-bench load --offices 3000 --slow 50

# The daemon's CPU per sync of an office with nothing to send or receive (status + an empty pull on a new connection),
# over three rounds of 1,000 offices after they have all synced.
bench-quiescent: release
	.build/release/cpsync-bench load --offices 1000 --slow 0 --quiescent 3

# Bytes on the wire per change in each body form (plain JSON, gzip, compact, compact + gzip), through a real daemon.
bench-wire: release
	.build/release/cpsync-bench wire --members 2000

# A new township's initial pull in a county of 30,000 members and 3,000 proposals (30 townships), against the county's.
bench-scope: release
	.build/release/cpsync-bench scope --members 30000 --proposals 3000 --townships 30

# The same in the county of issue 22: 100,000 members, 60 townships; township_rows_read_per_sent after county-wide edits.
bench-scope-large: release
	.build/release/cpsync-bench scope --members 100000 --proposals 10000 --townships 60

# A new township and a full county copy set up from a snapshot vs by plain pulls, same county as bench-scope.
bench-snapshot: release
	.build/release/cpsync-bench snapshot --members 30000 --proposals 3000 --townships 30

# One 200 MB attached file pushed and pulled through a real daemon against a raw POST of its bytes; peak RSS of each process.
bench-attach: release
	.build/release/cpsync-bench attach --mb 200

# A 20 MB attachment over a 32 KB/s link cut twice (the slow-link soak of issue 24; about 11 minutes).
soak-attach: build
	ATTACH_SOAK=1 $(SWIFT) test --skip-build --filter AttachmentSlowLinkSoak

# The same at 200,000 members: the daemon's peak RSS through the whole bench (goal <= 100 MB), township_time_ratio
# (goal <= 1.0) and county_snapshot_vs_domain_gzip (goal <= 1.2). Heavy: about two minutes on two cores.
bench-snapshot-large: release
	.build/release/cpsync-bench snapshot --members 200000 --proposals 20000 --townships 60

# Change files and relays larger than the body limit (26 and 53 MB) through the real binaries: every process's peak RSS
# flat in the file's size (issue 22). About two minutes on two shared cores.
test-large-files: build
	CPSYNC_LARGE_FILES=1 $(SWIFT) test --filter LargeChangeFileTests

# Long property runs: `make soak` runs both soaks below; PROPERTY_SEEDS=N make soak sets the seeds of both.
soak: soak-convergence soak-e2e

# PROPERTY_SEEDS as the user gave it (command line or environment), else the soak's own default: the `?= 50` above is
# for `make test`, and since it is exported a shell `$${PROPERTY_SEEDS:-…}` would always see 50.
soak-seeds = $(if $(filter command line environment environment override,$(origin PROPERTY_SEEDS)),$(PROPERTY_SEEDS),$(1))

# The in-process convergence property test: 2,000 seeds by default.
soak-convergence: build
	PROPERTY_SEEDS=$(call soak-seeds,2000) $(SWIFT) test --filter 'Convergence'

# The randomized end-to-end test (real cpsyncd and cpsync, kills, reinstalls; a few seconds a seed): 200 seeds by
# default; PROPERTY_E2E_SEEDS=N sets this one alone.
soak-e2e: build
	PROPERTY_E2E_SEEDS=$(or $(PROPERTY_E2E_SEEDS),$(call soak-seeds,200)) $(SWIFT) test --filter 'RandomizedSync'

clean:
	$(SWIFT) package clean
