# casemix: `make demo` then `make test` on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := demo_output
# KaTeX for the formulas of the documentation site, pinned in package-lock.json (no CDN).
NODE_STAMP := node_modules/.package-lock.json

.PHONY: demo test lint bench clean venv docs docs-assets docs-examples messages

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

docs-assets: $(NODE_STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $(NODE_STAMP)

demo: $(STAMP)
	$(BIN)/casemix simulate --out $(DEMO)/cohort.parquet
	$(BIN)/casemix validate $(DEMO)/cohort.parquet
	$(BIN)/casemix indicators $(DEMO)/cohort.parquet --by vsv --breakdown education,income_quintile \
		--out $(DEMO)/indicators_vsv.csv
	rm -rf $(DEMO)/big2
	$(BIN)/casemix fit models/big2.toml --data $(DEMO)/cohort.parquet --out $(DEMO)/big2
	$(BIN)/casemix report $(DEMO)/big2 --out $(DEMO)/report_big2.html
	@echo "Demo outputs in $(DEMO)/; open the report: $(CURDIR)/$(DEMO)/report_big2.html"

test: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m pytest -q
	$(BIN)/ruff check src tests benchmarks docs
	$(BIN)/mypy src/casemix
	$(BIN)/mkdocs build --strict --quiet

docs: $(STAMP) $(NODE_STAMP)
	$(BIN)/mkdocs build --strict
	@echo "Documentation site in site/ (open site/index.html)"

# The report's message catalogue: extract the strings, merge them into the Dutch catalogue
# (new strings arrive untranslated; tests/report/test_catalogue.py says which).
messages: $(STAMP)
	mkdir -p build
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k _rule:1 --no-location --sort-output \
		--project casemix -o build/casemix.pot .
	$(BIN)/pybabel update -i build/casemix.pot -d src/casemix/report/locale -D casemix \
		--no-fuzzy-matching --ignore-obsolete --width 100

# Rerun the command pages' worked examples and rewrite their output (docs/cli/output/).
docs-examples: $(STAMP)
	$(BIN)/python docs/examples/run_examples.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks docs
	$(BIN)/mypy src/casemix

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_data_layer.py
	$(BIN)/python benchmarks/bench_fit.py

clean:
	rm -rf $(VENV) $(DEMO) node_modules .pytest_cache .ruff_cache .mypy_cache
