# Developer tasks. `make dev` and `make test` are the two commands the README promises.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# aws-sam-cli and cfn-lint live in their own virtualenv (they pin their own boto3/pydantic).
SAM_VENV ?= .venv-sam
SAM_BIN := $(SAM_VENV)/bin
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0

.PHONY: dev test venv sam-venv browser vendor-dashboard lock build lint typecheck unit unit-pg15 unit-pg18 unit-fast lint-template template-check bench serve invoke openapi fuzz clean

$(VENV)/.installed: pyproject.toml layers/shared/requirements.lock tools/bootstrap.sh tools/python312.sh
	bash tools/bootstrap.sh $(VENV)
	touch $@

venv: $(VENV)/.installed

# Independent of the project's venv (both are built on the same Python 3.12): `make -j` builds them at once.
$(SAM_VENV)/.installed: tools/sam-requirements.txt tools/bootstrap_sam.sh tools/python312.sh
	bash tools/bootstrap_sam.sh $(SAM_VENV)
	touch $@

sam-venv: $(SAM_VENV)/.installed

## browser: Debian's chromium for the dashboard's browser test, installed when missing (tools/chromium.sh)
browser:
	@bash tools/chromium.sh >/dev/null

## vendor-dashboard: fetch the dashboard's Chart.js from its npm package (integrity-checked) into
##                   dashboard/vendor/; move to another version: make vendor-dashboard CHARTJS_VERSION=4.7.0
vendor-dashboard: venv
	$(PY) -m tools.vendor_dashboard $(if $(CHARTJS_VERSION),--version $(CHARTJS_VERSION))

## lock: re-resolve layers/shared/requirements.in into requirements.lock (every transitive runtime
##       dependency, pinned with hashes, for Python 3.12 on every platform); the layer and .venv install it.
##       Upgrade one package: make lock LOCK_ARGS="--upgrade-package sqlalchemy"
lock: venv
	$(VENV)/bin/uv pip compile --quiet --universal --python-version 3.12 --generate-hashes \
	  --custom-compile-command "make lock" $(LOCK_ARGS) \
	  layers/shared/requirements.in -o layers/shared/requirements.lock

## dev: prepare the local database, run the demo requests, seed the dashboard's demo data, then serve the
##      API on 127.0.0.1:3000 and the analyst dashboard on 127.0.0.1:3001 (DEV ONLY: JWT signatures not
##      verified, the dashboard signed in as a dev analyst). `make dev DEV_SERVE=0` stops after the requests.
dev: venv
	$(PY) -m tools.dev

## test: lint, type-check, sam build, the whole suite on PostgreSQL 15 and its version-sensitive tests on
##       18 (the suite's artifact tests load the functions from the build output), then lint the SAM
##       template and check the build. Independent steps run at once (-j), each one's output kept
##       together (-O): the two virtualenvs (and the dashboard test's chromium) first; then the build beside
##       lint and type-check; then the tests.
TEST_JOBS ?= 3
test:
	@$(MAKE) --no-print-directory -j3 venv sam-venv browser
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) -Otarget build typecheck lint
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) -Otarget unit-pg15 unit-pg18 template-check

## build: sam build (no container) into .aws-sam/build: the layer from the lock as aarch64 wheels, every
##        function and the layer compiled to bytecode (tools/sam-build/Makefile)
build: venv sam-venv
	$(PY) -m tools.build_check --build-only

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy layers/shared functions migrations tools tests bench

## unit: the whole suite on PostgreSQL 15, the oldest version production supports, so nothing relies on
##       a newer version's features; then the version-sensitive tests (migrations, schema, query plans:
##       marker `versions`) on the embedded PostgreSQL 18 as well. PYTEST_WORKERS processes each.
PYTEST_WORKERS ?= 2
# --dist loadfile: a test module runs whole on one worker (the fuzz coverage check counts its module's
# cases; module-level caches stay warm).
PYTEST := $(VENV)/bin/pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadfile
unit: venv
	$(MAKE) --no-print-directory unit-pg15
	$(MAKE) --no-print-directory unit-pg18

## unit-pg15: the whole suite on Debian's postgresql-15 server (installed when missing; a throwaway cluster)
unit-pg15: venv
	bash tools/with_postgres15.sh $(PYTEST)

## unit-pg18: the version-sensitive tests on the embedded PostgreSQL 18, in one process (35 tests: a
##            second server would cost more than it saves); `make unit-pg18 PYTEST_ARGS=`: all of them
PYTEST_ARGS ?= -m versions -n 0
unit-pg18: venv
	env -u DATABASE_URL $(PYTEST) $(PYTEST_ARGS)

## unit-fast: the unit tests only (pure logic, no database): seconds
unit-fast: venv
	$(VENV)/bin/pytest -q tests/unit

## lint-template: sam validate --lint, cfn-lint + serverless rules, sam build (no container), and an
##                import of every built handler from the build output with the built layer
lint-template: build
	$(MAKE) --no-print-directory template-check

## template-check: lint-template without the build (`make test` builds once, before the tests)
template-check: venv sam-venv
	$(SAM_BIN)/sam validate --lint --template-file template.yaml
	$(SAM_BIN)/cfn-lint --append-rules cfn_lint_serverless.rules -- template.yaml
	$(PY) -m tools.build_check --skip-build

## openapi: regenerate openapi.json from the code (tests/test_openapi.py fails while it is stale)
openapi: venv
	$(PY) -m tools.openapi

## fuzz: the long fuzz run: schemathesis over every operation with fresh randomness
##       (FUZZ_EXAMPLES per operation; `make test` runs 30 per operation with a fixed seed)
FUZZ_EXAMPLES ?= 500
##       then the campaign (tests/fuzz_campaign.py): every schemathesis check (negative data rejection and
##       positive data acceptance included), stateless and stateful, failures tallied per check and operation
##       (these sizes: about 7 minutes on this 2-core machine, docs/security-and-reliability.md)
FUZZ_CAMPAIGN_EXAMPLES ?= 200
FUZZ_STATEFUL_EXAMPLES ?= 200
fuzz: venv
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_RANDOM=1 $(VENV)/bin/pytest -q -s tests/test_fuzz.py
	FUZZ_EXAMPLES=$(FUZZ_CAMPAIGN_EXAMPLES) FUZZ_STATEFUL_EXAMPLES=$(FUZZ_STATEFUL_EXAMPLES) \
	  $(VENV)/bin/pytest -q -s tests/fuzz_campaign.py

## bench: the benchmark suite (bench/README.md) on its own embedded PostgreSQL (.local/bench-pg); prints a
##        table per section, writes bench/results/latest.json and the README's table. Not part of
##        `make test`. Quick check: make bench BENCH_ARGS=--quick; one section: BENCH_ARGS="--only latency"
bench: venv build
	PYTHONPATH=layers/shared:. $(PY) -m bench.run $(BENCH_ARGS)

## serve: the local HTTP API only (DEV ONLY: unverified JWTs, loopback only)
serve: venv
	$(PY) -m tools.serve

## invoke: one event through one function in-process, e.g. make invoke EVENT=events/onboarding_get.json
##         (FN=<LogicalId> for events that are not HTTP API requests)
invoke: venv
	@test -n "$(EVENT)" || { echo "usage: make invoke EVENT=events/<file>.json [FN=<LogicalId>]"; exit 2; }
	@$(PY) -m tools.invoke $(if $(FN),--function $(FN)) $(EVENT)

clean:
	rm -rf $(VENV) $(SAM_VENV) .local .aws-sam .pytest_cache .mypy_cache .ruff_cache
