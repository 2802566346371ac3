# Every target sets itself up on first use: a fresh clone needs only `make repl` / `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install repl index discord bench bench-ann soak report test lint fit docs clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and pinned: 2.13.0 is the CPU build on local disk; any other spec pulls CUDA.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet --constraint requirements.lock --editable '.[dev]'
	# optimum-intel declares torchvision, which breaks the CPU torch: install it alone.
	$(PY) -m pip install --quiet --no-deps --constraint requirements.lock optimum-intel
	touch $(STAMP)

install: $(STAMP)

repl: $(STAMP)
	$(PY) -m bot repl

index: $(STAMP)
	$(PY) -m bot index

discord: $(STAMP)
	$(PY) -m bot discord

bench: $(STAMP)
	$(PY) -m bot bench

bench-ann: $(STAMP)
	$(PY) -m bot.bench.ann

# One process, then two over one PostgreSQL with faults (docs/reliability.md).
soak: $(STAMP)
	$(PY) -m tests.soak
	$(PY) -m tests.soak --processes

report: $(STAMP)
	$(PY) -m bot report

fit: $(STAMP)
	$(PY) -m bot fit

# docs/configuration.md from bot/config.py (tests/test_docs.py fails while it is stale).
docs: $(STAMP)
	$(PY) -m tools.config_docs

lint: $(STAMP)
	$(PY) -m ruff check bot tests tools
	$(PY) -m mypy bot

test: lint
	$(PY) -m pytest

clean:
	rm -rf $(VENV) index/CURRENT index/gen-* index/.tmp-* .pytest_cache .mypy_cache .ruff_cache
