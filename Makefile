# tradeflow — the two commands a fresh clone needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/data/dagster

.PHONY: demo test setup validate dev lock clean browser bench

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "tradeflow needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

## demo: set up, refresh everything from the bundled synthetic sample, write the reports
demo: $(STAMP)
	$(BIN)/tradeflow refresh --source sample

## test: the whole test suite on every core (pytest-xdist; includes `dagster definitions validate` and the
## headless-Chromium report test)
test: $(STAMP) browser
	$(BIN)/python -m pytest -n auto --durations=20

## browser: Debian's chromium for the report test (installed when missing and we may; else that test skips)
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
		echo "chromium not available: the browser test will be skipped"; }

## bench: time the sample refresh (`make demo`'s run; COMPARE="../other-checkout" runs another checkout's
## .venv in turn for a before/after ratio), the report suite (budget: under 15 s on a 2-core machine, each page under 5 MB), load one
## 250,000-record keyed Comtrade body (~250 MB), then refresh a generated archive of SIZES million records
## against bare DuckDB and naive pandas (identical output checked), and time the engine's floor under it (gunzip,
## parse, the bare statement, the raw load: benchmarks/raw_floor.py); results in benchmarks/results/.
## Bigger sizes: `make bench SIZES="5 20"` (5 M ≈ 5 GB of JSON, 20 M ≈ 20 GB; generated once into data/bench/).
SIZES ?= 0.1 1
bench: $(STAMP)
	$(BIN)/python benchmarks/sample_refresh.py $(foreach c,$(COMPARE),--compare $(c))
	$(BIN)/python benchmarks/render_reports.py
	$(BIN)/python benchmarks/big_body.py
	$(BIN)/python benchmarks/export_xlsx.py
	$(BIN)/python benchmarks/refresh_bench.py --sizes $(SIZES)
	$(BIN)/python benchmarks/raw_floor.py --sizes $(SIZES)

validate: $(STAMP)
	$(BIN)/dagster definitions validate -w workspace.yaml

## dev: the Dagster UI on http://127.0.0.1:3000 (instance in data/dagster)
dev: $(STAMP)
	@mkdir -p $(DAGSTER_HOME) && cp -n pipelines/dagster.yaml $(DAGSTER_HOME)/dagster.yaml 2>/dev/null || true
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

## lock: re-resolve the pinned environment (needs the package registry)
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/pip install --quiet -e '.[dev]' hatchling editables
	.lockenv/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock
	rm -rf .lockenv

clean:
	rm -rf $(VENV) data reports/*.html reports/assets
