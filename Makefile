# The two commands of the README, each doing all of its own set-up on a fresh machine:
#   make demo   the main job on the embedded default (synthetic stand-in data, labelled as such)
#   make test   the test suite (CI runs exactly this through .ci/run)
# On a GPU machine, point TORCH_SPEC at a CUDA build, e.g.
#   make test TORCH_SPEC="torch==2.11.0 --index-url https://download.pytorch.org/whl/cu130"
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
EXTRAS ?= images,video,dist,test,faces
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q

.PHONY: demo test setup bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

setup: $(PY)
	$(PIP) install --upgrade "pip>=23" "setuptools>=69" wheel ninja "pybind11>=2.12"
	$(PIP) install $(TORCH_SPEC)
	$(PIP) install --no-build-isolation -e ".[$(EXTRAS)]"
	$(PY) -c "import torch, mer_fast; torch.ops.mer_fast.clip_views; print('mer_fast', mer_fast.__version__, mer_fast.build_info())"

demo: setup
	$(VENV)/bin/mer-fast demo

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) bench/bench_ops.py

clean:
	rm -rf build *.egg-info mer_fast/*.so .pytest_cache
