# Two commands for a fresh Debian machine, run as root:
#   make serve   install, migrate, create a first admin if there is no user,
#                and serve on http://127.0.0.1:8000
#   make test    install what the tests need and run every test

VENV := .venv
PIP := $(VENV)/bin/pip --disable-pip-version-check --quiet
PG_VERSION = $(shell ls /etc/postgresql 2>/dev/null | head -n 1)

.PHONY: serve test venv

venv: $(VENV)/bin/python

$(VENV)/bin/python:
	python3 -m venv $(VENV)

serve: venv
	$(PIP) install -r requirements.txt
	$(VENV)/bin/flask --app wsgi db upgrade
	$(VENV)/bin/flask --app wsgi users bootstrap
	exec $(VENV)/bin/gunicorn -c gunicorn.conf.py wsgi:app

test: venv
	$(PIP) install -r requirements-test.txt
	@if [ ! -x /usr/bin/chromium ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	fi
	@# nginx is only run by the tests, on 127.0.0.1; a policy-rc.d that
	@# refuses keeps the package from starting its default site on port 80.
	@if [ ! -x /usr/sbin/nginx ] || [ ! -x /usr/bin/openssl ]; then \
		guard=; \
		if [ ! -e /usr/sbin/policy-rc.d ]; then \
			printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; \
			chmod +x /usr/sbin/policy-rc.d; guard=1; \
		fi; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nginx openssl; \
		status=$$?; \
		if [ -n "$$guard" ]; then rm -f /usr/sbin/policy-rc.d; fi; \
		exit $$status; \
	fi
	@if ! pg_isready -q -h 127.0.0.1; then \
		pg_ctlcluster --skip-systemctl-redirect $(PG_VERSION) main start; \
		for _ in $$(seq 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done; \
		pg_isready -h 127.0.0.1; \
	fi
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest
