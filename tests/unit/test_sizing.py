"""The README's sizing table is the plan arithmetic's output, not numbers typed in."""

from pathlib import Path

from pelcro_sync.cli.sizing import table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_table_is_what_the_plan_arithmetic_computes():
    assert table() in README.read_text()
