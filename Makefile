# Everything runs from .venv; `make demo` and `make test` set it up first (and are quick once it is there).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
APT_PACKAGES := clang graphviz python3-venv chromium nodejs bubblewrap valgrind  # tinygrad's CPU device compiles with
# clang; draw_dot renders with graphviz's dot; the asv dashboard test drives Debian's chromium (through playwright from
# pip, which downloads no browser); tests/test_json_strict.py parses every JSON with node's JSON.parse; bwrap sandboxes
# `check`'s learner code; the asv suites count instructions with valgrind
# The system's own python3 (Debian 12: 3.11.2): `make test` reruns the parser and engine tests under it when it is
# another version than .venv's, in a small venv of its own (pytest and hypothesis only: those tests need no framework).
SYSTEM_PYTHON ?= /usr/bin/python3
SYSTEM_VENV := .venv-system
SYSTEM_TEST_PACKAGES := pytest hypothesis mpmath  # what those tests import (mpmath: the truth, via tests/strategies.py)

.PHONY: setup system-packages demo test test-system-python lint mutation readme notebooks lab asv-record asv-publish asv-check-site asv-preview asv-check clean FORCE

# TORCH=cpu (the default): torch's CPU build, from a wheel pip already finds or PyTorch's CPU index, else a one-line
# stop; TORCH=cuda: PyPI's CUDA build (about 2.7 GB of wheels). tools/torch_build.py chooses and says which in one line.
# The stamp records the choice: a later `make test` keeps it, and another TORCH= reinstalls.
TORCH ?= $(or $(shell cat $(STAMP) 2>/dev/null),cpu)
ifneq ($(TORCH),$(or $(shell cat $(STAMP) 2>/dev/null),$(TORCH)))
$(STAMP): FORCE
endif
FORCE:

setup: $(STAMP)

# system packages first: python3 -m venv itself needs Debian's python3-venv
$(STAMP): pyproject.toml constraints.txt constraints-cuda.txt tools/torch_build.py | system-packages
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade -c constraints.txt pip
	@args=$$($(PY) tools/torch_build.py $(TORCH) $(VENV)/constraints-used.txt) || exit 2; \
	echo "$(PY) -m pip install --quiet $$args -e \".[dev]\""; $(PY) -m pip install --quiet $$args -e ".[dev]" \
	  && echo "$$args" > $(VENV)/pip-args-used.txt
	echo $(TORCH) > $@

# Root installs what is missing with apt-get; anyone else gets the sudo line, and a stop when python3-venv is missing.
system-packages:
	@missing=""; command -v clang >/dev/null || missing="$$missing clang"; command -v dot >/dev/null || missing="$$missing graphviz"; \
	if ! $(PYTHON) -c 'import ensurepip' 2>/dev/null; then missing="$$missing python3-venv"; fi; \
	command -v chromium >/dev/null || missing="$$missing chromium"; command -v node >/dev/null || missing="$$missing nodejs"; \
	command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	command -v valgrind >/dev/null || missing="$$missing valgrind"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "Missing Debian packages:$$missing. Install them with: sudo apt-get install -y$$missing" >&2; \
	    case "$$missing" in *python3-venv*) exit 1;; esac; fi; \
	fi

demo: setup
	$(PY) -m comparisons

test: setup
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest
	@$(MAKE) --no-print-directory test-system-python

test-system-python: $(STAMP)
	@if [ ! -x $(SYSTEM_PYTHON) ]; then echo "no $(SYSTEM_PYTHON): the system-Python run is skipped"; exit 0; fi; \
	version=$$($(SYSTEM_PYTHON) -c 'import platform; print(platform.python_version())'); \
	if [ "$$version" = "$$($(PY) -c 'import platform; print(platform.python_version())')" ]; then \
	  echo "$(SYSTEM_PYTHON) is $$version, as .venv's python: nothing more to run"; exit 0; fi; \
	if [ "$$(cat $(SYSTEM_VENV)/.installed-$$version 2>/dev/null)" != "$(SYSTEM_TEST_PACKAGES)" ]; then \
	  rm -rf $(SYSTEM_VENV) && $(SYSTEM_PYTHON) -m venv $(SYSTEM_VENV) && \
	  $(SYSTEM_VENV)/bin/python -m pip install --quiet -c constraints.txt $(SYSTEM_TEST_PACKAGES) && \
	  echo "$(SYSTEM_TEST_PACKAGES)" > $(SYSTEM_VENV)/.installed-$$version; fi; \
	echo "the parser and engine tests under $(SYSTEM_PYTHON) $$version (no frameworks there: their comparisons skip)"; \
	CI= $(SYSTEM_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/test_expr.py tests/test_engine.py tests/test_nn.py

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# Mutation testing (opt-in, not part of `make test`): mutmut over the engine, the adapters and the judge, one group of
# modules at a time with the tests that exercise it (tools/mutation.py); prints the score and every survivor. Niced,
# one mutant at a time; GROUPS="dtypes rules" runs only those, MUTATION_ARGS=--fresh starts them over.
mutation: setup
	nice -n 15 $(PY) tools/mutation.py $(MUTATION_ARGS) $(GROUPS)

# The README's excerpts of command output, rerun and rewritten whole (tools/readme_excerpts.py; ONLY=grad: just those
# whose command contains "grad"). The engine comparison needs the original micrograd 0.1.0, fetched once into .original/.
ORIGINAL := .original/micrograd-0.1.0

readme: setup $(ORIGINAL)/micrograd/engine.py
	$(PY) tools/readme_excerpts.py $(if $(ONLY),--only "$(ONLY)")

$(ORIGINAL)/micrograd/engine.py:
	$(PY) -m pip download --quiet --no-deps --dest .original micrograd==0.1.0
	$(PY) -m zipfile -e .original/micrograd-0.1.0-py3-none-any.whl $(ORIGINAL)

# run every notebook in notebooks/ top to bottom in a fresh kernel and save it with its outputs (after editing one)
notebooks: setup
	$(PY) notebooks/execute.py

# JupyterLab on notebooks/: installs the notebook extra once (jupyterlab, pinned), registers this venv's Python as the
# Jupyter kernel `micrograd-bench` for any front end (ipykernel install --user: ~/.local/share/jupyter/kernels), then
# serves until Ctrl-C. LAB_ARGS: more options for jupyter lab, e.g. LAB_ARGS="--no-browser --port=8899".
LAB_ARGS ?=
LAB_STAMP := $(VENV)/.lab-installed

lab: setup $(LAB_STAMP)
	$(PY) -m ipykernel install --user --name micrograd-bench --display-name "Python (micrograd-bench)"
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

$(LAB_STAMP): $(STAMP) pyproject.toml constraints.txt
	$(PY) -m pip install --quiet -c constraints.txt -e ".[notebook]"
	touch $@

# asv: record the last ASV_COMMITS commits of main into .asv/results, then publish the dashboard to .asv/html,
# pointed at the scripts vendored in vendor/asv-www/ (it works offline). asv-check: the regression gate, HEAD against
# HEAD^ and against the median of the last ASV_BASELINE recorded commits, each benchmark at its own threshold
# (asv.conf.json's regressions_thresholds). The gate exits 0 (pass), 1 (slower) or 2 (could not compare), and so does
# `make asv-check` (see the end of this file).
ASV := $(VENV)/bin/asv
ASV_COMMITS ?= 10
ASV_BASELINE ?= 10
ASV_MACHINE ?=
# asv builds its own environment with pip (asv.conf.json's matrix pins torch==2.13.0, which alone is PyPI's CUDA build),
# and its pip inherits the environment: so asv's pip gets the set-up's choice, .venv's constraints (torch===2.13.0+cpu
# for TORCH=cpu, every other package at .venv's version) and the extra index tools/torch_build.py chose (saved by the
# set-up in $(VENV)/pip-args-used.txt; none where pip's own settings offer the wheel). Expanded when the recipe runs,
# after `setup`. A venv set up before that file existed: constraints only, so pip installs the CPU build or stops.
ASV_PIP_ENV = PIP_CONSTRAINT=$(abspath $(VENV)/constraints-used.txt)$(if $(ASV_TORCH_INDEX), PIP_EXTRA_INDEX_URL=$(ASV_TORCH_INDEX))
ASV_TORCH_INDEX = $(shell sed -n 's/.*--extra-index-url \([^ ]*\).*/\1/p' $(VENV)/pip-args-used.txt 2>/dev/null)

asv-record: setup
	mkdir -p .asv
	git rev-list --first-parent --max-count=$(ASV_COMMITS) main > .asv/commits.txt
	$(ASV) machine --yes
	@status=0; $(ASV_PIP_ENV) $(ASV) run --skip-existing-commits --show-stderr HASHFILE:.asv/commits.txt || status=$$?; \
	{ $(ASV) publish && $(PY) -m comparisons.history.dashboard .asv/html; } || status=$$?; exit $$status

asv-publish: setup
	$(ASV) publish
	$(PY) -m comparisons.history.dashboard .asv/html

asv-check-site: setup
	$(PY) -m comparisons.history.dashboard --check .asv/html

asv-preview: asv-publish
	$(ASV) preview --port 8080

# The gate's exit status through make. GNU make exits 2 whenever a recipe fails, so `make asv-check` alone (not with
# -n, not with other goals) runs the gate while it reads this file: a second make (given this one's flags and
# command-line variables, which a $(shell) does not pass on by itself) runs the recipe below, which leaves
# the gate's status in ASV_GATE_STATUS_FILE (the gate's output comes on stderr, as it goes), and this make then ends
# with it: 0 passes; 1 turns on make's --question mode, whose "not up to date" is make's one exit 1; 2 fails the
# recipe (make's "Error 2", exit 2).
ASV_GATE_STATUS_FILE ?=
ifeq ($(MAKECMDGOALS)$(findstring n,$(firstword -$(MAKEFLAGS)))$(ASV_GATE_STATUS_FILE),asv-check)
ASV_GATE_STATUS := $(shell file=$$(mktemp) && MAKEFLAGS='$(subst ','\'',$(MAKEFLAGS))' $(MAKE) --no-print-directory \
  $(MAKEOVERRIDES) ASV_GATE_STATUS_FILE=$$file asv-check >&2; status=$$(cat $$file); rm -f $$file; echo $${status:-2})
ifeq ($(ASV_GATE_STATUS),1)
MAKEFLAGS += --question
endif
asv-check:
	@exit $(ASV_GATE_STATUS)
else
asv-check: setup
	$(ASV) machine --yes $(if $(ASV_MACHINE),--machine $(ASV_MACHINE))
	@status=0; $(ASV_PIP_ENV) $(PY) -m comparisons.history.gate --baseline $(ASV_BASELINE) $(if $(ASV_MACHINE),--machine $(ASV_MACHINE)) \
	  || status=$$?; $(if $(ASV_GATE_STATUS_FILE),echo $$status > $(ASV_GATE_STATUS_FILE); status=0;) exit $$status
endif

clean:
	rm -rf $(VENV) $(SYSTEM_VENV) .asv results .original .pytest_cache .hypothesis .mypy_cache
