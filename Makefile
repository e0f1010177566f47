# dockhand.runtime: the commands a newcomer runs (as root, on Debian 12).
SHELL := /bin/bash
VENV := .venv
HOSTS ?= 3

# The fast tier, for iteration: lint and unit tests (a couple of minutes, no daemon, no lab).
.PHONY: bench check container-doc presets-doc test provision ee lab-up lab-down venv lint unit integration sanity build link clean

## Run the whole test suite, installing everything it needs.
test:
	tests/run

## Lint and unit tests only: what to run while iterating.
check: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ansible-lint -q
	$(VENV)/bin/antsibull-changelog lint
	$(VENV)/bin/python -m pytest -q tests/unit

## Bring up a $(HOSTS)-host lab, run playbooks/provision.yml against it, then write the fleet report (build/report).
provision: venv link
	tests/lab/lab up $(HOSTS)
	$(VENV)/bin/ansible-playbook -i tests/lab/state/inventory.yml -e @tests/lab/provision-vars.yml playbooks/provision.yml
	$(VENV)/bin/ansible-playbook -i tests/lab/state/inventory.yml -e report_dest=build/report playbooks/report.yml

## Build the execution environment dockhand-runtime-ee:latest from meta/execution-environment.yml with
## ansible-builder, on a Debian base made locally (no registry needed); ansible-navigator.yml runs playbooks in it.
## The EE does not keep the base's lab labels: `lab down` must not take it (or a playbook running in it) for the lab's.
ee: venv link
	tests/lab/lab ee-base
	$(VENV)/bin/ansible-builder build --container-runtime docker -f meta/execution-environment.yml -c build/ee \
		-t dockhand-runtime-ee:latest --build-arg EE_BASE_IMAGE=dockhand-lab/ee-base:bookworm \
		--build-arg PYCMD=/opt/ee/bin/python3 --build-arg PKGMGR=/bin/true \
		--extra-build-cli-args "--label dockhand.lab= --label dockhand.lab.role= --label dockhand.lab.recipe="

lab-up:
	tests/lab/lab up $(HOSTS)

lab-down:
	tests/lab/lab down

venv:
	tests/venv

link:
	@mkdir -p build/collections/ansible_collections/dockhand
	@ln -sfn "$(CURDIR)" build/collections/ansible_collections/dockhand/runtime

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ansible-lint -q

unit: venv
	$(VENV)/bin/python -m pytest tests/unit

integration: venv
	$(VENV)/bin/python -m pytest tests/integration

sanity: venv
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" tests/sanity/run

## Per-task cost of no-op tasks against ansible.builtin.ping (figures, no assertions). BENCH_ARGS=--help.
bench: venv link
	$(VENV)/bin/python tests/bench/noop.py $(BENCH_ARGS)

## Regenerate what comes from container_options.OPTIONS: the container module's option documentation
## and the containers role's pass-through of every option.
container-doc: venv
	$(VENV)/bin/python tests/tools/container_doc.py
	$(VENV)/bin/python tests/tools/containers_role.py

## Regenerate the README's table of registry mirror presets from mirrors/presets.py.
presets-doc: venv
	$(VENV)/bin/python tests/tools/presets_doc.py

## Build the collection tarball (dockhand-runtime-<version>.tar.gz).
build: venv
	$(VENV)/bin/ansible-galaxy collection build --force .

clean:
	rm -rf build tests/output dockhand-runtime-*.tar.gz
