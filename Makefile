# Everything runs from .venv; `make demo` and `make test` set it up first (and are quick once it is there).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
APT_PACKAGES := clang graphviz  # tinygrad's CPU device compiles with clang; draw_dot renders with graphviz's dot

.PHONY: setup system-packages demo test lint notebooks asv-record asv-preview clean

setup: $(STAMP) system-packages

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

system-packages:
	@missing=""; command -v clang >/dev/null || missing="$$missing clang"; command -v dot >/dev/null || missing="$$missing graphviz"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "Missing Debian packages:$$missing. Install them with: sudo apt-get install$$missing" >&2; fi; \
	fi

demo: setup
	$(PY) -m comparisons

test: setup
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# run every notebook in notebooks/ top to bottom in a fresh kernel and save it with its outputs (after editing one)
notebooks: setup
	$(PY) notebooks/execute.py

# asv: record the last ASV_COMMITS commits of main into .asv/results, then publish the dashboard to .asv/html
ASV := $(VENV)/bin/asv
ASV_COMMITS ?= 10

asv-record: setup
	mkdir -p .asv
	git rev-list --first-parent --max-count=$(ASV_COMMITS) main > .asv/commits.txt
	$(ASV) machine --yes
	@status=0; $(ASV) run --skip-existing-commits --show-stderr HASHFILE:.asv/commits.txt || status=$$?; $(ASV) publish; exit $$status

asv-preview: setup
	$(ASV) preview --port 8080

clean:
	rm -rf $(VENV) .asv results .pytest_cache .hypothesis
