# The two commands a newcomer needs:
#   make demo    set everything up, deploy the demo stack into a local container, show it answering
#   make test    yamllint, ansible-lint, unit tests and sanity, then every Molecule scenario (in parallel lanes)
# and `make clean` to remove our containers and stop the download cache and the engine if we
# started them.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV ?= $(CURDIR)/.venv
export PATH := $(VENV)/bin:$(PATH)
# Plain output in logs and CI; colours do not survive being piped into a file.
export PY_COLORS ?= 0
export ANSIBLE_FORCE_COLOR ?= 0
export NO_COLOR ?= 1

SCENARIOS ?= $(sort $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml))))
# `make molecule` runs the scenarios in lanes (scripts/lanes.sh): lanes at the same time, the
# scenarios of a lane one after another. Two Molecule lanes, because these 2-core machines are
# CPU-bound: with three lanes every step ran 3.5 to 4 times slower than alone, more than the third
# lane won. resilience, cluster and security, which count failed requests under load, share a lane
# so that they never load the machine at the same time; apps, the longest scenario, shares the
# other lane with default (whose load tests are light); the rest evens the lanes out.
# Every scenario runs on Debian 13 (PYWEB_DEBIAN); SCENARIO@12 runs one again on Debian 12, where
# the default and apps scenarios prove the stack on the previous release.
# default@12%oldest runs on the oldest ansible-core that meta/runtime.yml claims (the rest runs on
# the newest; `make test-oldest` runs lint and the unit tests on the oldest too).
# make:bench-smoke, the benchmark harness end to end, runs in a lane too, beside the other lane's
# scenarios rather than after both.
# tests/unit/test_scripts.py fails when a scenario is in no lane.
LANES ?= resilience,cluster,security,nginx,apps@12,granian default,apps,default@12%oldest,make:bench-smoke
# The test hosts' Debian release: 13 (trixie) unless set; `make molecule-default PYWEB_DEBIAN=12`
# runs one scenario on bookworm.
export PYWEB_DEBIAN ?= 13
export PYWEB_IMAGE ?= pyweb/debian$(PYWEB_DEBIAN)-systemd:latest
comma := ,
# Every release the lanes run on: PYWEB_DEBIAN and each @RELEASE in LANES (without a %venv
# suffix); `make image` builds each. tests/unit/test_scripts.py checks that this finds 12 and 13.
RELEASES := $(sort $(PYWEB_DEBIAN) $(foreach entry,$(subst $(comma), ,$(LANES)),$(if $(findstring @,$(entry)),$(firstword $(subst %, ,$(lastword $(subst @, ,$(entry))))))))
help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

setup: venv venv-oldest tools engine image ## Tooling virtualenv, controller test tools, container engine and test-host image

venv: ## Build .venv from requirements.txt
	@scripts/venv.sh

venv-oldest: ## Build .venv-oldest from tests/requirements-oldest.txt (the oldest ansible-core claimed)
	@scripts/oldest.sh venv

collection: venv ## Build the Galaxy artifact and install it into .state/collections (what site.yml runs)
	@scripts/collection.sh

tools: ## Debian packages the tests run on the controller (testssl.sh)
	@scripts/tools.sh

engine: ## Start the container engine unless one is running
	@scripts/engine.sh start

cache: engine ## Start the test hosts' download cache (apt-cacher-ng, proxpi) unless it runs
	@scripts/cache.sh start

image: engine ## Build the test-host images (Debian 13, and 12 for the lanes that use it) unless present
	@for release in $(RELEASES); do PYWEB_DEBIAN=$$release PYWEB_IMAGE=pyweb/debian$$release-systemd:latest scripts/image.sh; done

rebuild-image: engine ## Build the images again
	@for release in $(RELEASES); do PYWEB_DEBIAN=$$release PYWEB_IMAGE=pyweb/debian$$release-systemd:latest scripts/image.sh --rebuild; done

demo: setup collection ## Deploy the demo stack into a local container and show it answering
	@scripts/demo.sh up

demo-show: ## Print the demo's URLs and answers again
	@scripts/demo.sh show

demo-down: ## Remove the demo container
	@scripts/demo.sh down

# The checks first, on both cores, then the lanes. The checks as a third lane beside the two
# Molecule lanes were measured slower: the lanes' load tests (resilience, cluster) took up to 60%
# longer beside them, more than the seven minutes the checks take alone. What the lanes' hosts need
# (the engine, the images, the download cache) is made beside the checks instead: mostly downloads
# and unpacking, it costs the checks little and takes its minutes off the critical path.
test: ## Run every test: lint, unit (newest and oldest ansible-core), ansible-test sanity, Molecule scenarios (in lanes), benchmark smoke run
	@$(MAKE) --no-print-directory -j2 --output-sync=target checks hosts
	@$(MAKE) --no-print-directory molecule

hosts: tools engine image cache ## What the Molecule lanes' hosts need: controller test tools, container engine, test-host images, download cache

# Two at a time: lint beside the unit tests, then sanity beside the oldest ansible-core's lint and
# unit tests (never two ansible-lint at once: each installs the collection into the project's
# .ansible/). The unit tests run on every core (pytest-xdist), so when the shorter of a pair ends,
# the other core does not sit idle. Each one's output is printed whole when it ends.
checks: venv venv-oldest collection ## lint, unit, sanity and test-oldest, two at a time
	@$(MAKE) --no-print-directory -j2 --output-sync=target lint unit
	@$(MAKE) --no-print-directory -j2 --output-sync=target sanity test-oldest

lint: collection ## yamllint and ansible-lint (production profile, no skips)
	yamllint --strict .
	ansible-lint

docs: venv ## Regenerate the variable tables in the READMEs and docs/bad-input.md
	python scripts/role_docs.py
	python scripts/bad_input_docs.py

unit: venv ## Fast pytest unit tests (no containers), on every core
	pytest -q -n auto tests/unit

sanity: venv ## ansible-test sanity for the collection, on the virtualenv's ansible-core and Python (scripts/sanity.sh)
	@scripts/sanity.sh

test-oldest: venv-oldest collection ## ansible-lint and the unit tests on the oldest ansible-core claimed
	@scripts/oldest.sh check

molecule: setup cache ## Every Molecule scenario and the benchmark smoke run, in parallel lanes (LANES); logs in .state/logs/lane-N.log
	@scripts/lanes.sh $(LANES)

$(addprefix molecule-,$(SCENARIOS)): molecule-%: setup cache ## One scenario, e.g. make molecule-default
	eval "$$(scripts/cache.sh env)" && molecule test -s $*

bench: setup collection ## Benchmark report: dev server vs Gunicorn configurations vs peers (Granian, uWSGI, Uvicorn), direct vs Nginx (bench/results/)
	python bench/run.py

bench-converge: setup collection cache ## Fresh and no-change converges of the demo and of 1, 5 and 10 apps (bench/results/converge.md, .png)
	eval "$$(scripts/cache.sh env)" && python bench/converge.py

bench-smoke: setup collection ## The benchmark harness end to end, one second per hello or static row (no figures worth quoting)
	python bench/run.py --smoke

clean: ## Remove our containers, stop the download cache, and the engine if we started it
	@if scripts/engine.sh status >/dev/null 2>&1; then \
	  scripts/demo.sh down; \
	  scripts/host.sh remove pyweb-bench; \
	  scripts/host.sh remove pyweb-converge; \
	  scripts/lanes.sh --destroy; \
	fi
	@scripts/cache.sh stop
	@scripts/engine.sh stop
