# Trial Check. `make run` serves the app on 127.0.0.1:5000; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app webapp

.PHONY: run test test-tools system-packages install install-test translations extract-messages update-translations db clean bench suggest-eval

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# Compiled catalogs (.mo) are build output, made from translations/*/LC_MESSAGES/*.po.
translations: $(VENV)/.installed
	$(FLASK) translate compile

extract-messages: $(VENV)/.installed
	$(FLASK) translate extract

update-translations: $(VENV)/.installed
	$(FLASK) translate update

db: $(VENV)/.installed
	$(FLASK) db upgrade
	$(FLASK) catalog load --if-newer

# Another port: make run PORT=5050
PORT ?= 5000

run: install translations db
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

test: install-test translations test-tools
	# A tiny run of the benchmark keeps the script working; figures come from `make bench`.
	$(BIN)/python -m bench --smoke
	TEST_POSTGRES_URL=$$(./scripts/ensure-postgres.sh) TEST_REDIS_URL=$$(./scripts/ensure-redis.sh) \
		NLTK_DATA=$(CURDIR)/$(NLTK_DATA) $(BIN)/python -m pytest $(PYTEST_ARGS)

# What the quality gates run besides Python: Debian packages (Chromium, Java, PostgreSQL, Redis, npm),
# axe-core and the Nu HTML Checker from npm, and NLTK's CMU dictionary for textstat.
NLTK_DATA := $(VENV)/nltk_data
CMUDICT := $(NLTK_DATA)/corpora/cmudict/cmudict

test-tools: system-packages node_modules/.package-lock.json $(CMUDICT)

system-packages:
	./scripts/ensure-system-packages.sh

# npm ci installs exactly package-lock.json; --ignore-scripts because vnu-jar's install script
# would fetch a Java runtime, and Debian's is used instead.
node_modules/.package-lock.json: package.json package-lock.json | system-packages
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

$(CMUDICT): $(VENV)/.installed-test scripts/build-nltk-cmudict.py
	$(BIN)/python scripts/build-nltk-cmudict.py $(NLTK_DATA)

# gunicorn on 127.0.0.1, load from a separate process; prints the table and writes
# bench/results/latest.md (about 12 minutes on 2 cores, with the 100,000-study catalog, which is
# also loaded into a PostgreSQL database of its own). BENCH_ARGS="--strict" fails on a missed target.
bench: install translations
	$(BIN)/python -m bench --postgres $$(TRIALCHECK_PG_DATABASE=trialcheck_bench ./scripts/ensure-postgres.sh) $(BENCH_ARGS)

# Precision and recall of `flask trials suggest` per fact against the hand-made labels
# (../shared/registry-samples/labels-dev.json); SUGGEST_ARGS="--labels FILE --strict" for others.
suggest-eval: install translations
	$(BIN)/python scripts/suggest-eval.py $(SUGGEST_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info tests/artifacts
