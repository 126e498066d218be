# The two commands a new user needs: `make run` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# Model weights come from an installed package, never from the network.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install run test test-sqlite test-postgresql clean

$(STAMP): setup.cfg setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Start the server on 127.0.0.1:8000 with the embedded SQLite database under var/.
run: install
	$(BIN)/reinfer-clone db upgrade
	$(BIN)/reinfer-clone serve --no-upgrade

## The whole suite on SQLite, then on PostgreSQL.
test: install test-sqlite test-postgresql

test-sqlite: install
	$(BIN)/pytest --backend sqlite

test-postgresql: install
	$(BIN)/pytest --backend postgresql

clean:
	rm -rf $(VENV) var *.egg-info
