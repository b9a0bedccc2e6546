# Everything a newcomer needs: `make run` and `make test`.
# Both create .venv with the standard venv module and install the project.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench clean figures-baseline docs-numbers scores-doc nord-stream-doc lab answers

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,dask]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/sim run scenarios/s400/baseline.yaml --out runs/baseline --force
	$(BIN)/sim plot runs/baseline

test: $(STAMP)
	$(BIN)/ruff check sim tests benchmarks scripts
	$(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python benchmarks/store.py
	$(BIN)/python benchmarks/engine.py
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/scale.py

figures-baseline: $(STAMP)   ## regenerate the image-regression baselines (after looking at them)
	SIM_REGEN_BASELINES=1 $(BIN)/python -m pytest tests/test_plots.py -q

docs-numbers: $(STAMP)   ## regenerate the numbers in docs/s400-model.md (between generated markers)
	$(BIN)/python scripts/s400_docs.py
	$(BIN)/python scripts/s400_sensitivity.py

scores-doc: $(STAMP)   ## regenerate the forecast-score tables in docs/s400-model.md
	$(BIN)/python -m sim.scoredoc scenarios/s400/score.yaml docs/s400-model.md \
		--figure docs/images/s400-reliability --hindcast scenarios/s400/hindcast.yaml

NS_BRANCHES := insurers_early no_waiver certified_late_2021 allseas_stays no_escalation
nord-stream-doc: $(STAMP)   ## regenerate the generated tables of docs/nord-stream-model.md
	$(BIN)/python -m sim.branchdoc docs/nord-stream-model.md -n 300 \
		--hindcast scenarios/nord_stream/baseline.yaml \
		--targets laying_resumed,construction_complete,cert_suspended \
		$(foreach b,$(NS_BRANCHES),scenarios/nord_stream/$(b).yaml)
	$(BIN)/python -m sim.scoredoc scenarios/nord_stream/score.yaml docs/nord-stream-model.md

lab: $(STAMP)   ## install JupyterLab and the widgets into .venv and open the notebooks
	$(BIN)/python -m pip install --quiet -e ".[dev,dask,teach]"
	$(BIN)/jupyter lab notebooks/

answers: $(STAMP)   ## the instructor's answer key (run the notebooks): teaching-answers/answers.md
	$(BIN)/python -m pip install --quiet -e ".[dev,dask,teach]"
	$(BIN)/sim teaching answers --out teaching-answers -n 300

clean:
	rm -rf $(VENV) runs .pytest_cache
