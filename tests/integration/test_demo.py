"""`pelcro-sync demo` on a machine with nothing configured: embedded Postgres, sandbox, sync."""

import io
import shutil
import tempfile
from pathlib import Path

from rich.console import Console
from sqlalchemy import create_engine, text

from pelcro_sync.cli.demo import run_demo
from pelcro_sync.entities import ENTITIES
from pelcro_sync.warehouse import embedded


def test_demo_fills_every_entity_table_of_the_embedded_postgres(monkeypatch):
    base = Path(tempfile.mkdtemp(prefix="pelcro-demo-"))  # short: socket paths are limited
    monkeypatch.setenv("PELCRO_DATA_DIR", str(base))
    for name in ("DATABASE_URL", "PELCRO_API_KEY", "PELCRO_BASE_URL", "PELCRO_SCHEMA",
                 "PELCRO_MARTS_SCHEMA"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    output = io.StringIO()
    try:
        run_demo(customers=120, console=Console(file=output, width=160))
        engine = create_engine(embedded.embedded_url())
        with engine.connect() as conn:
            counts = {
                e.name: conn.execute(text(f"SELECT count(*) FROM pelcro.{e.name}")).scalar_one()
                for e in ENTITIES
            }
            mrr_rows = conn.execute(text("SELECT count(*) FROM pelcro_marts.mrr_monthly")).scalar()
        engine.dispose()
    finally:
        embedded.stop()
        shutil.rmtree(base, ignore_errors=True)
    assert all(n > 0 for n in counts.values()), counts
    shown = output.getvalue()
    assert "pelcro-sync summary" in shown and "Active subscriptions per plan" in shown
    assert "make dev" in shown
    # it ends by building the marts and showing MRR by month
    assert mrr_rows and "marts built: 16 models" in shown and "MRR by month" in shown
