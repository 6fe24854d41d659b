# Developer tasks. `make dev` and `make test` are the two commands the README promises.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# aws-sam-cli and cfn-lint live in their own virtualenv (they pin their own boto3/pydantic).
SAM_VENV ?= .venv-sam
SAM_BIN := $(SAM_VENV)/bin
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0

.PHONY: dev test venv sam-venv lock build lint typecheck unit unit-pg15 lint-template bench serve invoke openapi fuzz clean

$(VENV)/.installed: pyproject.toml layers/shared/requirements.lock tools/bootstrap.sh
	bash tools/bootstrap.sh $(VENV)
	touch $@

venv: $(VENV)/.installed

$(SAM_VENV)/.installed: tools/sam-requirements.txt tools/bootstrap_sam.sh $(VENV)/.installed
	bash tools/bootstrap_sam.sh $(SAM_VENV) $(PY)
	touch $@

sam-venv: $(SAM_VENV)/.installed

## lock: re-resolve layers/shared/requirements.in into requirements.lock (every transitive runtime
##       dependency, pinned with hashes, for Python 3.12 on every platform); the layer and .venv install it.
##       Upgrade one package: make lock LOCK_ARGS="--upgrade-package sqlalchemy"
lock: venv
	$(VENV)/bin/uv pip compile --quiet --universal --python-version 3.12 --generate-hashes \
	  --custom-compile-command "make lock" $(LOCK_ARGS) \
	  layers/shared/requirements.in -o layers/shared/requirements.lock

## dev: prepare the local database, run the demo requests, then serve the API on 127.0.0.1:3000
##      (DEV ONLY: JWT signatures not verified). `make dev DEV_SERVE=0` stops after the requests.
dev: venv
	$(PY) -m tools.dev

## test: lint, type-check, sam build (the suite's artifact tests load the functions from the build
##       output), the whole test suite, then lint the SAM template and check the build
test: venv lint typecheck build unit unit-pg15 lint-template

## build: sam build (no container) into .aws-sam/build: the layer from the lock as aarch64 wheels, every
##        function and the layer compiled to bytecode (tools/sam-build/Makefile)
build: venv sam-venv
	$(PY) -m tools.build_check --build-only

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy layers/shared functions migrations tools tests bench

unit: venv
	$(VENV)/bin/pytest

## unit-pg15: the suite again on PostgreSQL 15, the oldest version production supports (Debian's
##            postgresql-15 server, installed when missing), so nothing relies on 18-only features
unit-pg15: venv
	bash tools/with_postgres15.sh $(VENV)/bin/pytest -q -p no:cacheprovider

## lint-template: sam validate --lint, cfn-lint + serverless rules, sam build (no container), and an
##                import of every built handler from the build output with the built layer
lint-template: venv sam-venv
	$(SAM_BIN)/sam validate --lint --template-file template.yaml
	$(SAM_BIN)/cfn-lint --append-rules cfn_lint_serverless.rules -- template.yaml
	$(PY) -m tools.build_check

## openapi: regenerate openapi.json from the code (tests/test_openapi.py fails while it is stale)
openapi: venv
	$(PY) -m tools.openapi

## fuzz: the long fuzz run: schemathesis over every operation with fresh randomness
##       (FUZZ_EXAMPLES per operation; `make test` runs 30 per operation with a fixed seed)
FUZZ_EXAMPLES ?= 500
fuzz: venv
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_RANDOM=1 $(VENV)/bin/pytest -q -s tests/test_fuzz.py

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
