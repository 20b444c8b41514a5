# The two commands: `make dev` runs the platform, `make test` runs the whole suite.
# Both install what they need: a venv in .venv, service jars into ~/.m2 (Maven Central).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install jars browser test chaos multinode unit dev dev-secure stack-up stack-down stack-status bench clean

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(INSTALLED)

jars: install  ## resolve every service's jars from Maven Central into ~/.m2
	$(BIN)/lol-platform stack fetch

browser:  ## Debian's chromium for the browser tests (Playwright's own browser download is not used)
	@if [ -x /usr/bin/chromium ]; then \
		echo "chromium: $$(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; \
	else \
		echo "chromium is missing: install Debian's 'chromium' package (sudo apt-get install chromium);"; \
		echo "the browser tests are skipped without it."; \
	fi

# TEST_LANES=2 runs two lanes side by side (pytest-xdist workers; which test runs where: lol_platform_tests/conftest.py).
# Not the default: on this 2-core machine the two lanes saturate the CPU and the flow tests' waits run out
# (README "The two commands"). 0: one process, in collection order.
TEST_LANES ?= 0

test: install jars browser  ## the whole suite; it starts (or reuses) the service stacks itself
	$(BIN)/python -m pytest -n $(TEST_LANES) $(PYTEST_ARGS)

chaos: install jars  ## only the fault-injection tests (SIGKILL of services mid-flow)
	$(BIN)/python -m pytest -m chaos $(PYTEST_ARGS)

# Also part of `make test`; alone here with -s, which prints what the multi-node stack cost (start time, RSS of
# each node) and the per-date reconciliation (README "Multi-node mode").
multinode: install jars  ## the multi-node stack (3 Kafka brokers, 3 Cassandra nodes) and the SIGKILL test on it
	$(BIN)/python -m pytest -m multinode -s lol_platform_tests/multinode $(PYTEST_ARGS)

unit: install  ## only the tests that need no service
	$(BIN)/python -m pytest lol_platform_tests/unit $(PYTEST_ARGS)

# GENERATOR=0 (or LOL_DEV_GENERATOR=0) leaves the match generator out: run `lol-platform produce` yourself.
dev: install jars  ## stack + topic/schema/index + generator + stream + dagster dev, supervised; Ctrl-C stops all of it
	exec env $(if $(GENERATOR),LOL_DEV_GENERATOR=$(GENERATOR)) $(BIN)/python -m lol_platform.devtools.dev

# The same on the locked-down stack (.stack-secure: Kafka SASL_SSL + ACLs, Cassandra passwords + TLS; README
# "Locked-down local stack"): the processes get the LOL_* credentials of .stack-secure/security/credentials.env.
dev-secure: install jars
	exec env LOL_STACK_SECURE=1 $(if $(GENERATOR),LOL_DEV_GENERATOR=$(GENERATOR)) $(BIN)/python -m lol_platform.devtools.dev

stack-up: install jars
	$(BIN)/lol-platform stack up

stack-down: install
	$(BIN)/lol-platform stack down

stack-status: install
	$(BIN)/lol-platform stack status

bench: install jars
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m lol_platform_tests.bench

clean: stack-down
	$(BIN)/lol-platform stack down --secure
	rm -rf .stack .stack-secure .dagster_home
