# The two commands of the README, each doing all of its own set-up on a fresh machine:
#   make demo   the main job on the embedded default (synthetic stand-in data, labelled as such)
#   make test   the test suite (CI runs exactly this through .ci/run)
# On a GPU machine, point TORCH_SPEC at a CUDA build, e.g.
#   make test TORCH_SPEC="torch==2.11.0 --index-url https://download.pytorch.org/whl/cu130"
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
EXTRAS ?= images,video,dist,test,faces,dev,docs,lint
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q

# The install runs again only when one of its inputs changed: pyproject.toml, setup.py, the
# extension's sources (csrc/, but for csrc/cuda_on_cpu/, which only the tests build), or the
# TORCH_SPEC / EXTRAS values (kept in $(SETTINGS), rewritten only when they differ). A changed
# source recompiles alone: setup.py keeps the editable build's object files in build/ (ninja).
STAMP := $(VENV)/.mer-fast-installed
SETTINGS := $(VENV)/.mer-fast-settings
# (the folders too: adding or removing a source changes its folder's time)
CSRC := $(filter-out csrc/cuda_on_cpu%,$(shell find csrc))
# the build's own tools (pyproject.toml [build-system]; numpy so that torch loads without a warning)
BUILD_TOOLS := "pip>=23" "setuptools>=77" wheel ninja "pybind11>=2.12" "numpy>=1.24,<3"

.PHONY: demo test setup docs lint dist bench gpu-check sanitize clean FORCE

$(PY):
	$(PYTHON) -m venv $(VENV)

$(SETTINGS): FORCE | $(PY)
	@printf 'TORCH_SPEC=%s\nEXTRAS=%s\n' '$(TORCH_SPEC)' '$(EXTRAS)' > $@.new
	@if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; fi

$(STAMP): pyproject.toml setup.py $(CSRC) $(SETTINGS) | $(PY)
	$(PIP) install $(BUILD_TOOLS)
	$(PIP) install $(TORCH_SPEC)
	$(PIP) install --no-build-isolation -e ".[$(EXTRAS)]"
	$(PY) -c "import torch, mer_fast; torch.ops.mer_fast.clip_views; print('mer_fast', mer_fast.__version__, mer_fast.build_info())"
	touch $@

setup: $(STAMP)

demo: setup
	$(VENV)/bin/mer-fast demo

test: setup
	$(PY) -m pytest -q

# The documentation site (docs/, mkdocs.yml): built strictly, every warning is an error; the
# CLI and configuration references are generated from the code while it builds
docs: setup
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

# ruff (the rules and the format of pyproject.toml) over the Python trees, mypy over the package;
# both pinned in the lint extra
LINT_PATHS := mer_fast tests bench tools
lint: setup
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)
	$(VENV)/bin/mypy

# The sdist and the wheel, built against the venv's torch (no isolation: the extension must
# match the torch it runs with), then checked by twine
dist: setup
	rm -rf dist
	$(PY) -m build --no-isolation --outdir dist .
	$(VENV)/bin/twine check --strict dist/*

bench: setup
	$(PY) bench/bench_ops.py

# On a GPU machine whose python3 has a CUDA build of torch (no internet, no venv): builds the
# extension in place, runs the CUDA tests, then every GPU benchmark, within 8 minutes; writes
# bench/results/gpu_check_<date>_<device>.{json,md}
gpu-check:
	$(PYTHON) bench/gpu_check.py

# The op tests against the extension and the CUDA-on-CPU executor built under ASan + UBSan
# (make test runs this too, in tests/test_sanitizers.py)
sanitize: setup
	$(PY) tools/sanitize.py run

clean:
	rm -rf build dist site *.egg-info mer_fast/*.so .pytest_cache .mypy_cache .ruff_cache $(STAMP)
