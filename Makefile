# Everything runs from .venv; `make demo` and `make test` set it up first (and are quick once it is there).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
APT_PACKAGES := clang graphviz chromium  # tinygrad's CPU device compiles with clang; draw_dot renders with graphviz's dot;
# the asv dashboard test drives Debian's chromium (through playwright from pip, which downloads no browser of its own)

.PHONY: setup system-packages demo test lint asv-record asv-publish asv-preview asv-check clean

setup: $(STAMP) system-packages

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

system-packages:
	@missing=""; command -v clang >/dev/null || missing="$$missing clang"; command -v dot >/dev/null || missing="$$missing graphviz"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
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

# asv: record the last ASV_COMMITS commits of main into .asv/results, then publish the dashboard to .asv/html,
# pointed at the scripts vendored in vendor/asv-www/ (it works offline). asv-check: the regression gate, HEAD vs HEAD^.
ASV := $(VENV)/bin/asv
ASV_COMMITS ?= 10
ASV_FACTOR ?= 2
ASV_MACHINE ?=

asv-record: setup
	mkdir -p .asv
	git rev-list --first-parent --max-count=$(ASV_COMMITS) main > .asv/commits.txt
	$(ASV) machine --yes
	@status=0; $(ASV) run --skip-existing-commits --show-stderr HASHFILE:.asv/commits.txt || status=$$?; \
	$(MAKE) --no-print-directory asv-publish || status=$$?; exit $$status

asv-publish: setup
	$(ASV) publish
	$(PY) -m comparisons.asv_dashboard .asv/html

asv-preview: asv-publish
	$(ASV) preview --port 8080

asv-check: setup
	$(ASV) machine --yes $(if $(ASV_MACHINE),--machine $(ASV_MACHINE))
	$(PY) -m comparisons.asv_gate --factor $(ASV_FACTOR) $(if $(ASV_MACHINE),--machine $(ASV_MACHINE))

clean:
	rm -rf $(VENV) .asv results .pytest_cache .hypothesis
