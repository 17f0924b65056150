# failover: everything a fresh Debian machine needs, in two commands (make demo, make test).
# Python runs in the project's own virtual environment, .venv (python3 -m venv): Debian's
# python3 refuses `pip install` into itself (PEP 668), and nothing here touches the system
# Python or puts a `failover` on the machine's PATH. The venv is made again when
# pyproject.toml changes (its stamp is older).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEB_PACKAGES := python3 python3-venv haproxy gdnsd socat dnsutils openssh-server openssh-client git ca-certificates curl jq prometheus-alertmanager nagios-nrpe-server nagios-nrpe-plugin monitoring-plugins-basic monitoring-plugins-standard pdns-recursor prometheus-node-exporter
DEB_COMMANDS := /usr/sbin/haproxy /usr/sbin/gdnsd /usr/bin/socat /usr/bin/dig /usr/sbin/sshd /usr/bin/ssh /usr/bin/git /usr/bin/curl /usr/bin/jq /usr/bin/prometheus-alertmanager /usr/sbin/nrpe /usr/lib/nagios/plugins/check_nrpe /usr/lib/nagios/plugins/check_tcp /usr/lib/nagios/plugins/check_dig /usr/sbin/pdns_recursor /usr/bin/rec_control /usr/bin/prometheus-node-exporter
PIP := env PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore $(PY) -m pip

.PHONY: all install install-system install-python venv tools test demo sandbox lint bench clean distclean

all: test

# Debian packages of the real servers the tests and the sandbox start (no service is enabled),
# and python3-venv (ensurepip) for the project's venv.
install-system:
	@missing=0; for c in $(DEB_COMMANDS); do [ -x "$$c" ] || missing=1; done; \
	$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing=1; \
	if [ $$missing = 1 ]; then \
	  echo "installing Debian packages: $(DEB_PACKAGES)"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEB_PACKAGES); \
	fi

# The project's venv: the tool (editable) with its test and lint tools. Every Python command
# below runs through $(PY).
venv install-python: $(VENV_STAMP)
$(VENV_STAMP): pyproject.toml | install-system
	@echo "setting up $(VENV): $(PYTHON) -m venv, then pip install -e '.[dev]' (pip's output: $(VENV)/pip.log)"
	@$(PYTHON) -m venv --clear $(VENV)
	@$(PIP) install -q -e '.[dev]' >$(VENV)/pip.log 2>&1 || { cat $(VENV)/pip.log; exit 1; }
	@touch $@

install: install-system venv

# Wikimedia's commit-message-validator pins its own click: its own venv, never a runtime dependency.
tools: .venv-tools/bin/commit-message-validator
.venv-tools/bin/commit-message-validator: | install-system
	$(PYTHON) -m venv .venv-tools
	env PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore .venv-tools/bin/pip install -q commit-message-validator

test: install tools
	$(PY) -m ruff check failover sandbox tests benchmarks
	$(PY) -m mypy
	$(PY) -m pytest -q

lint: install
	$(PY) -m ruff check failover sandbox tests benchmarks
	$(PY) -m mypy

demo: install
	@$(PY) -m sandbox.demo

# The sandbox world kept up until Ctrl-C, to type failover commands against it.
sandbox: install
	@$(PY) -m sandbox.up

bench: install
	$(PY) -m benchmarks.run
	$(PY) -m benchmarks.profile_imports
	@if [ -n "$(OPDNS)" ]; then $(PY) -m benchmarks.replay "$(OPDNS)"; \
	else echo "replay skipped: make bench OPDNS=PATH_TO_OPERATIONS_DNS"; fi

clean:
	rm -rf build *.egg-info .pytest_cache .mypy_cache .ruff_cache

# `clean` keeps the venvs (a re-install takes a while); this one removes them too.
distclean: clean
	rm -rf $(VENV) .venv-tools
