#!/usr/bin/env bash
# `make prod-local`: the production instance shape on this machine: deploy/dagster.yaml in
# .dagster_prod/, Postgres storage in the `dagster_prod` database (made if missing), and the
# webserver AND the daemon, as on Kubernetes. Pelcro and warehouse settings come from the
# environment or .env as usual. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PG_SERVER=${PG_SERVER:-postgresql://postgres@127.0.0.1:5432/postgres}
export DAGSTER_PG_URL=${DAGSTER_PG_URL:-postgresql+psycopg2://postgres@127.0.0.1:5432/dagster_prod}
export DAGSTER_HOME=${DAGSTER_HOME:-$PWD/.dagster_prod}
mkdir -p "$DAGSTER_HOME"
cp deploy/dagster.yaml "$DAGSTER_HOME/dagster.yaml"
$BIN/python - "$PG_SERVER" "$DAGSTER_PG_URL" <<'PY'
import sys, psycopg
from sqlalchemy.engine import make_url
server, target = sys.argv[1], make_url(sys.argv[2]).database
with psycopg.connect(server, autocommit=True) as conn:
    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (target,)).fetchone():
        conn.execute(f'CREATE DATABASE "{target}"')
        print(f"created database {target}")
PY
$BIN/dagster-daemon run -w workspace.yaml &
DAEMON=$!
trap 'kill $DAEMON 2>/dev/null; wait $DAEMON 2>/dev/null' EXIT INT TERM
$BIN/dagster-webserver -w workspace.yaml -h 127.0.0.1 -p "${DAGSTER_PORT:-3000}"
