# Two commands set everything up on a fresh machine with only python3:
#   make demo   - the lifecycle on the embedded defaults (SQLite + local files in ~/.modelyard)
#   make demo-features - the feature store: a fraud model on point-in-time features, served enriched
#   make test   - the test suite (PostgreSQL tests run when MODELYARD_TEST_POSTGRES_URL is set)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev
DEMO_STAMP := $(VENV)/.installed-demo
BENCH_STAMP := $(VENV)/.installed-bench
PYTEST_WORKERS ?= 3

.PHONY: install demo demo-features test lint bench clean constraints

# constraints-dev.txt pins every package of a known-good environment (`make constraints` refreshes
# it): without it pip's resolver can backtrack for many minutes over the dev extra's large tree.
$(STAMP): pyproject.toml constraints-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --disable-pip-version-check --progress-bar on -c constraints-dev.txt -e '.[dev]'
	@touch $@

# The demo needs the core plus the `demo` extra (scikit-learn, matplotlib): a fraction of the dev
# toolchain's size and install time. pip shows its progress, as a first install takes a while.
$(DEMO_STAMP): pyproject.toml constraints-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --disable-pip-version-check --progress-bar on -c constraints-dev.txt -e '.[demo]'
	@touch $@

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints-dev.txt -e '.[dev,bench]'
	@touch $@

constraints: $(STAMP)
	$(PY) -m pip freeze --exclude-editable | grep -v '^modelyard' > constraints-dev.txt

install: $(STAMP)

demo: $(DEMO_STAMP)
	$(VENV)/bin/modelyard db upgrade
	$(PY) examples/demo.py

# The feature store's example: point-in-time training data, transactions streamed through the
# local Redis (pushed directly when none answers), a deployment enriched from the online store.
demo-features: $(DEMO_STAMP)
	$(VENV)/bin/modelyard db upgrade
	$(PY) examples/fraud_features.py

test: $(STAMP)
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 \
		|| echo "Debian's chromium is not installed: the web UI's browser tests will skip"
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist worksteal --durations=25

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(VENV)/bin/ruff format --check src tests benchmarks examples
	$(VENV)/bin/mypy src

bench: $(BENCH_STAMP)
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache .mypy_cache
