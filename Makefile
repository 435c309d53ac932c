# podman-worker-bundle: one entry point for operators, developers and CI.
#   make test   everything CI runs (lint, syntax, unit, worker, every Molecule scenario)
#   make demo   a local "NSLS-II host" container, converged by playbooks/site.yml
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV      := .venv
BIN       := $(CURDIR)/$(VENV)/bin
PYTHON    ?= python3
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

# Molecule runs as scenario:platform. The image scenario builds Prefect from a
# Python 3.11 lock, which is Debian 12's python3. A lone | starts another lane:
# lanes run side by side, the runs of a lane one after the other
# (molecule/run-lanes.sh). e2e alone in one lane (its verify mostly waits on jobs),
# everything else in the other: about as long. Narrow with e.g.
#   make molecule MOLECULE_RUNS=podman:debian12
MOLECULE_RUNS ?= e2e:debian12 | podman:debian12 podman:debian13 server:debian12 image:debian12 rootless:debian12
# Scenarios beyond make test's time budget (~45 min on 2 cores): make molecule-extra
MOLECULE_RUNS_EXTRA ?= scale:debian12
DISTROS   := $(sort $(foreach r,$(MOLECULE_RUNS),$(word 2,$(subst :, ,$(r)))))
PLAYBOOKS := $(wildcard playbooks/*.yml)
# CA bundle that pip inside test hosts and nested image builds must trust (sites
# with TLS inspection): the controller pip's own, else the system bundle.
export PWB_EXTRA_CA_BUNDLE ?= $(or $(PIP_CERT),$(REQUESTS_CA_BUNDLE),$(wildcard /etc/ssl/certs/ca-certificates.crt))

.PHONY: help venv testbed lint syntax unit worker molecule molecule-extra test demo demo-destroy status bench collection lock clean diagram

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements/tools.txt
	@echo "==> $(VENV): installing the tools lock requirements/tools.txt (first run only; may take minutes)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --progress-bar off -r requirements/tools.txt
	touch $@

# The reference worker's tests run in the locked Prefect the hosts get.
WORKER_VENV := .venv-worker
$(WORKER_VENV)/.installed: roles/prefect_runtime/files/locks/prefect-3.4.2.txt requirements/worker-test.txt
	@echo "==> $(WORKER_VENV): installing the Prefect 3.4.2 lock and the worker test tools (first run only; may take minutes)"
	$(PYTHON) -m venv $(WORKER_VENV)
	$(WORKER_VENV)/bin/pip install --progress-bar off -r roles/prefect_runtime/files/locks/prefect-3.4.2.txt -r requirements/worker-test.txt
	touch $@

venv: $(VENV)/.installed ## Python tools from the lock into .venv

testbed: ## Host podman and the local platform images (skips what exists)
	molecule/testbed/build-images.sh $(DISTROS)

lint: venv ## yamllint and ansible-lint (production profile, offline)
	yamllint -s .
	ansible-lint

syntax: venv ## ansible-playbook --syntax-check of every playbook
	@for p in $(PLAYBOOKS); do \
	  for inv in inventories/*/; do \
	    echo "syntax-check $$p -i $$inv"; ansible-playbook --syntax-check -i $$inv $$p >/dev/null; \
	  done; \
	done

unit: venv ## pytest unit tests (no containers)
	pytest -q --durations=15 tests/unit

worker: venv $(WORKER_VENV)/.installed testbed ## Reference worker flows (real podman) and the prefect_* modules (real Prefect)
	$(WORKER_VENV)/bin/pytest -q --durations=15 -p no:cacheprovider tests/worker

molecule: venv testbed ## Every Molecule run in MOLECULE_RUNS (scenario:platform; | between lanes)
	molecule/run-lanes.sh $(foreach r,$(MOLECULE_RUNS),'$(r)')

# Stages in order; in a stage, lanes (|) side by side. The static checks and unit
# tests (ansible-playbook on the controller) use about one core, the worker tests
# (podman, Prefect servers) the other; the Molecule lanes take both.
TEST_STAGES := 'lint syntax unit | worker' molecule
test: venv ## Everything CI runs (TEST_STAGES, stopping after a failed stage), each part's time at the end
	@tests/run-parts.sh $(TEST_STAGES)

molecule-extra: ## Molecule runs outside make test (MOLECULE_RUNS_EXTRA: scale-out over two hosts)
	$(MAKE) molecule MOLECULE_RUNS="$(MOLECULE_RUNS_EXTRA)"

demo: venv ## Converge the demo inventory (a local systemd container) with site.yml
	molecule/testbed/build-images.sh debian12
	ansible-playbook playbooks/demo-host.yml
	ansible-playbook -i inventories/demo playbooks/site.yml
	@echo "Demo host pwb-demo converged. Prefect UI: http://127.0.0.1:4200 (auth string: pwb-demo:<the password in inventories/demo/.prefect-api-password>)"

INVENTORY ?= inventories/demo
status: venv ## What is deployed, per host and Prefect API; reads only (INVENTORY=inventories/<facility>)
	ansible-playbook -i $(INVENTORY) playbooks/status.yml

# make bench plots with matplotlib, kept out of the tools lock.
BENCH_VENV := .venv-bench
$(BENCH_VENV)/.installed: requirements/bench.txt
	@echo "==> $(BENCH_VENV): installing requirements/bench.txt (matplotlib)"
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --progress-bar off -r requirements/bench.txt
	touch $@

bench: venv $(BENCH_VENV)/.installed ## Figures on a fresh demo host -> docs/benchmarks.md/.png (~26 min; recreates pwb-demo)
	molecule/testbed/build-images.sh debian12
	$(BENCH_VENV)/bin/python bench/bench.py

demo-destroy: ## Remove the demo host container
	podman rm -f pwb-demo

collection: venv ## Build the collection mlexchange.podman_worker into build/ (install it with ansible-galaxy collection install)
	ansible-galaxy collection build --force --output-path build .

lock: ## Re-resolve requirements/tools.in into requirements/tools.txt
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install -q -r requirements/tools.in
	{ echo "# Lock of requirements/tools.in for Python 3.11 (make lock regenerates it)."; \
	  .lock-venv/bin/pip freeze; } > requirements/tools.txt
	rm -rf .lock-venv

diagram: ## Render docs/architecture.svg from docs/architecture.dot (needs graphviz)
	dot -Tsvg docs/architecture.dot -o docs/architecture.svg

clean: ## Remove the venvs (images stay; podman rmi them by hand)
	rm -rf $(VENV) $(WORKER_VENV) $(BENCH_VENV)
