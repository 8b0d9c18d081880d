# twoline: `make run` serves the assistant, `make test` runs the tests. Both set up what is missing.
VENV  ?= .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup run test lint train-full eval bench chat

$(STAMP): pyproject.toml scripts/setup.sh
	bash scripts/setup.sh
	touch $(STAMP)

setup: $(STAMP)

run: setup  ## serve on http://127.0.0.1:8000, training missing artifacts first
	HF_HUB_OFFLINE=1 $(PY) -m router.cli serve

test: setup  ## lint + the whole test suite
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	HF_HUB_OFFLINE=1 $(PY) -m pytest -n 2 --dist loadfile  # two workers; shared fixtures: tests/conftest.py trained_once

chat: setup
	HF_HUB_OFFLINE=1 $(PY) -m router.cli chat

# The censor with its MiniLM fine-tuned on tone (~18 min on 2 cores; same cost per answer): it ranks the held-out
# bank-style sets better than the one `make run` trains, but its threshold moves with the seed, so check it with
# scripts/sweep_censor.py and set TWOLINE_SECOND_LINE_CENSOR_THRESHOLD (README "Guardrails"). The fine-tuned
# intent classifier (`twoline train intents --variant full`) scores under the fast one held out (93.78% against
# 93.87%), so it is not part of this.
train-full: setup  ## the censor fine-tuned on tone (~18 min on 2 cores)
	HF_HUB_OFFLINE=1 $(PY) -m router.cli train censor --variant full

eval: setup  ## intent eval on the held-out split, report in reports/intents
	HF_HUB_OFFLINE=1 $(PY) -m router.cli eval intents

bench: setup  ## load test of a running service (see scripts/load_test.py)
	$(PY) scripts/load_test.py
