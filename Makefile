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

.PHONY: demo test setup bench gpu-check sanitize clean

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
	rm -rf build *.egg-info mer_fast/*.so .pytest_cache
