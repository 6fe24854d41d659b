# Developer tasks. `make dev` and `make test` are the two commands the README promises.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: dev test venv lint typecheck unit bench serve invoke clean

$(VENV)/.installed: pyproject.toml layers/shared/requirements.txt tools/bootstrap.sh
	bash tools/bootstrap.sh $(VENV)
	touch $@

venv: $(VENV)/.installed

## dev: install, start embedded Postgres, migrate, run a request through a handler
dev: venv
	$(PY) -m tools.dev

## test: lint, type-check and the whole test suite against a throwaway embedded Postgres
test: venv lint typecheck unit

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy layers/shared functions migrations tools tests bench

unit: venv
	$(VENV)/bin/pytest

clean:
	rm -rf $(VENV) .local .aws-sam .pytest_cache .mypy_cache .ruff_cache
