# sparsewire: `make serve` runs the service, `make test` runs the whole suite; both set up .venv first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
PYTEST_ARGS ?=

.PHONY: serve test demo bench lint install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/sparsewire serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/python benchmarks/demo.py --url http://$(HOST):$(PORT)

bench: $(STAMP)
	$(BIN)/python benchmarks/engine_bench.py

lint: $(STAMP)
	$(BIN)/ruff check service gpu_kernels clients tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
