# Thin aliases for the scripts (the README's two commands are ./scripts/run and ./scripts/test).
.PHONY: run test ci lint format compose

run:
	./scripts/run

test:
	./scripts/test

ci:
	./.ci/run

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy .

format:
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

compose:
	docker compose up --build
