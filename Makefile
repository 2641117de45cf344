# make install | test | test-fast | demo | lint  — each installs first when
# needed. `make install CUDA=1`: torch's CUDA build and mmcv with CUDA
# kernels, in .venv-cuda (no GPU needed to build; docs/gpu.md).
CUDA ?= 0
ifeq ($(CUDA),1)
VENV ?= .venv-cuda
else
VENV ?= .venv
endif
PY := $(VENV)/bin/python
STAMP := $(VENV)/.mmdet_ohem-installed
SRC := mmdet_ohem configs tools dev tests setup.py

.PHONY: install test test-fast demo lint

# Re-install only when the pins (dev/install.sh, setup.cfg) change.
$(STAMP): dev/install.sh setup.cfg setup.py
	CUDA=$(CUDA) bash dev/install.sh $(VENV)
	touch $@

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest tests

# spec/ and model/ tests only (no subprocess runs): about a minute
test-fast: $(STAMP)
	$(PY) -m pytest tests -m "not slow"

demo: $(STAMP)
	$(PY) tools/demo.py

lint: $(STAMP)
	$(PY) -m flake8 $(SRC)
	$(PY) -m isort --check-only --diff $(SRC)
	$(PY) -m yapf --diff --recursive --exclude 'mmdet_ohem/configs/*' $(SRC)
