# failover: everything a fresh Debian machine needs, in two commands (make demo, make test).
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEB_PACKAGES := haproxy gdnsd socat dnsutils openssh-server openssh-client git ca-certificates curl jq prometheus-alertmanager nagios-nrpe-server nagios-nrpe-plugin monitoring-plugins-basic
DEB_COMMANDS := /usr/sbin/haproxy /usr/sbin/gdnsd /usr/bin/socat /usr/bin/dig /usr/sbin/sshd /usr/bin/ssh /usr/bin/git /usr/bin/curl /usr/bin/jq /usr/bin/prometheus-alertmanager /usr/sbin/nrpe /usr/lib/nagios/plugins/check_nrpe /usr/lib/nagios/plugins/check_tcp
STAMP := .make

.PHONY: all install install-system install-python tools test demo lint bench clean

all: test

# Debian packages of the real servers the tests and the sandbox start (no service is enabled).
install-system:
	@missing=0; for c in $(DEB_COMMANDS); do [ -x "$$c" ] || missing=1; done; \
	if [ $$missing = 1 ]; then \
	  echo "installing Debian packages: $(DEB_PACKAGES)"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEB_PACKAGES); \
	fi

install-python:
	$(PYTHON) -m pip install -q --disable-pip-version-check -e '.[dev]'

install: install-system install-python

# Wikimedia's commit-message-validator pins its own click: its own venv, never a runtime dependency.
tools: .venv-tools/bin/commit-message-validator
.venv-tools/bin/commit-message-validator:
	$(PYTHON) -m venv .venv-tools
	.venv-tools/bin/pip install -q --disable-pip-version-check commit-message-validator

test: install tools
	$(PYTHON) -m ruff check failover sandbox tests benchmarks
	$(PYTHON) -m mypy
	$(PYTHON) -m pytest -q

lint: install-python
	$(PYTHON) -m ruff check failover sandbox tests benchmarks
	$(PYTHON) -m mypy

demo: install
	$(PYTHON) -m sandbox.demo

bench: install
	$(PYTHON) -m benchmarks.run
	$(PYTHON) -m benchmarks.profile_imports
	@if [ -n "$(OPDNS)" ]; then $(PYTHON) -m benchmarks.replay "$(OPDNS)"; \
	else echo "replay skipped: make bench OPDNS=PATH_TO_OPERATIONS_DNS"; fi

clean:
	rm -rf build *.egg-info .pytest_cache .mypy_cache .ruff_cache
