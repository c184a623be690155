# casemix: `make demo` then `make test` on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := demo_output
# KaTeX for the formulas of the documentation site, pinned in package-lock.json (no CDN).
NODE_STAMP := node_modules/.package-lock.json
# Births per simulated cohort (the README quotes the figures of the default).
DEMO_BIRTHS ?= 170000

.PHONY: demo test lint bench clean venv docs docs-assets docs-examples messages

venv: $(STAMP)

$(STAMP): pyproject.toml
	@echo "Creating $(VENV) and installing casemix and its dependencies (about 2 minutes)..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --progress-bar on --upgrade pip
	$(BIN)/python -m pip install --progress-bar on -e ".[dev]"
	touch $(STAMP)
	@echo "Installed casemix in $(VENV)."

docs-assets: $(NODE_STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $(NODE_STAMP)

# Everything the README tour uses, in a fresh $(DEMO)/ (git-ignored).
demo: $(STAMP)
	rm -rf "$(DEMO)"
	@echo "== 1/5 Simulating: the 2024 cohort with sample published figures, the same births as a registry extract, and 2025 in the same country"
	$(BIN)/casemix simulate --n-births $(DEMO_BIRTHS) --out $(DEMO)/cohort.parquet \
		--published $(DEMO)/published_2024.csv
	$(BIN)/casemix simulate --n-births $(DEMO_BIRTHS) --out $(DEMO)/extract.sav --mapping perined
	$(BIN)/casemix simulate --n-births $(DEMO_BIRTHS) --year 2025 --births-seed 2025 \
		--out $(DEMO)/next_year.parquet
	@echo "== 2/5 Validating the cohort"
	$(BIN)/casemix validate $(DEMO)/cohort.parquet
	@echo "== 3/5 National rates, and Big2 by maternal education and income (about 15 s)"
	$(BIN)/casemix indicators $(DEMO)/cohort.parquet --by vsv --breakdown education,income_quintile \
		--out $(DEMO)/indicators_vsv.csv
	@echo "== 4/5 Fitting the Big2 case-mix model"
	$(BIN)/casemix fit models/big2.toml --data $(DEMO)/cohort.parquet --out $(DEMO)/big2
	@echo "== 5/5 Writing the report (about 30 s)"
	$(BIN)/casemix report $(DEMO)/big2 --out $(DEMO)/report_big2.html \
		--geometry $(DEMO)/cohort_boundaries.geojson
	@echo "Demo outputs in $(DEMO)/; open the report: $(abspath $(DEMO))/report_big2.html"
	@echo "Next: the tour in README.md, which starts with: cd $(DEMO)"

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
