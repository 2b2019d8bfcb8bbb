# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench examples clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Start the server on embedded defaults (SQLite, ./data, loopback).
run: $(STAMP)
	$(BIN)/reelfarm serve

## Set up and run the whole suite.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## Render every example at full size into out/.
examples: $(STAMP)
	mkdir -p out
	for f in examples/*.json; do $(BIN)/reelfarm render $$f -o out/$$(basename $$f .json).mp4 || exit 1; done

# The render benchmark's comparison (c) needs MoviePy, which only the bench extra installs.
$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@

bench: $(VENV)/.bench-installed
	$(BIN)/python bench/render.py
	$(BIN)/python bench/server.py
	$(BIN)/python bench/cluster.py  # starts its own redis-server (apt-get install redis-server)

clean:
	rm -rf $(VENV) data out .pytest_cache
