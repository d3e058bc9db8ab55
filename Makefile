# Two targets a new user needs: `make play` and `make test`. Both create .venv on first use.
# torch is pinned and installed first: on these machines torch==2.13.0 is the CPU build from a
# local wheel, while an unpinned torch would pull several GB of CUDA packages.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
WORLD  ?= sonic

.PHONY: play test setup clean
setup: $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $@

play: $(STAMP)
	$(VENV)/bin/nanogenie play --world $(WORLD)

test: $(STAMP)
	SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy $(VENV)/bin/python -m pytest

clean:
	rm -rf $(VENV) build *.egg-info
