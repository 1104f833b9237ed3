# datasafety: `make demo` sets up .venv and scans a real app; `make test` runs the test suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SHARED ?= ../shared
DEMO_APK ?= $(SHARED)/data/apks/exodus-core/blooddonation.apk
TRACKERS ?= $(SHARED)/data/trackers/exodus/trackers.json

.PHONY: install demo test bench clean

# Rebuild when the packaging or a compiled kernel (.pyx, .pxd) changes.
$(VENV)/.installed: pyproject.toml setup.py $(shell find src -name '*.pyx' -o -name '*.pxd')
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[traffic,dev]'
	touch $@

install: $(VENV)/.installed

demo: install
	mkdir -p out
	$(VENV)/bin/datasafety scan "$(DEMO_APK)" --trackers "$(TRACKERS)" --json out/demo.json
	@echo "JSON report written to out/demo.json"

test: install
	$(PY) -m pytest -q

bench: install
	$(PY) benchmarks/scan_vs_androguard.py

clean:
	rm -rf $(VENV) out .pytest_cache
