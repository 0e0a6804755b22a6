"""Helpers of the secrets sweep: distinctive secret values, their encoded forms, and searches
of text, files and every text/jsonb column of a Postgres database for any of them."""

import base64
import os
import secrets
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, quote_plus

import psycopg
from psycopg import sql

# Columns worth reading: anything that can hold a string.
TEXT_TYPES = ("text", "character varying", "character", "jsonb", "json", "ARRAY", "USER-DEFINED")
SKIP_TREE = {".venv", ".tools", ".git"}


def distinctive(prefix: str) -> str:
    """A unique value with a recognisable prefix, e.g. `pstKEY_3f9c…` (no whitespace)."""
    return f"{prefix}_{secrets.token_hex(20)}"


def forms(value: str, *, core: str | None = None) -> dict[str, str]:
    """The value and the encodings a leak could take: base64 (std and URL-safe), URL-quoted,
    and a 16-character slice of its random part (catches truncated copies)."""
    core = core or value.split("_", 1)[-1]
    raw = value.encode()
    out = {
        "raw": value,
        "base64": base64.b64encode(raw).decode().rstrip("="),
        "base64url": base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "quoted": quote(value, safe=""),
        "quoted_plus": quote_plus(value),
        "core16": core[2:18],
    }
    # Drop forms identical to the raw value (nothing to quote) so reports stay short.
    return {k: v for k, v in out.items() if k == "raw" or v != value}


@dataclass
class Needles:
    """name -> {form -> string}; `search` yields (secret name, form, offset) per hit."""

    by_secret: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, name: str, value: str, *, core: str | None = None,
            extra: dict[str, str] | None = None) -> None:  # fmt: skip
        self.by_secret[name] = {**forms(value, core=core), **(extra or {})}

    def pairs(self) -> Iterator[tuple[str, str, str]]:
        for name, by_form in self.by_secret.items():
            for form, needle in by_form.items():
                yield name, form, needle

    def search_text(self, text: str) -> Iterator[tuple[str, str, int]]:
        for name, form, needle in self.pairs():
            start = text.find(needle)
            while start != -1:
                yield name, form, start
                start = text.find(needle, start + 1)

    def search_bytes(self, data: bytes) -> Iterator[tuple[str, str, int]]:
        for name, form, needle in self.pairs():
            encoded = needle.encode()
            start = data.find(encoded)
            while start != -1:
                yield name, form, start
                start = data.find(encoded, start + 1)

    def mask(self, text: str) -> str:
        for _, _, needle in sorted(self.pairs(), key=lambda p: -len(p[2])):
            text = text.replace(needle, f"<{len(needle)} chars>")
        return text


@dataclass
class Hit:
    where: str
    secret: str
    form: str
    context: str

    def __str__(self) -> str:
        return f"{self.secret} ({self.form}) in {self.where}: …{self.context}…"


@dataclass
class Sweep:
    """Counts the places searched and collects every hit, with masked context."""

    needles: Needles
    hits: list[Hit] = field(default_factory=list)
    places: dict[str, int] = field(default_factory=dict)

    def _count(self, kind: str) -> None:
        self.places[kind] = self.places.get(kind, 0) + 1

    def text(self, where: str, text: str, *, kind: str = "streams") -> None:
        self._count(kind)
        for name, form, at in self.needles.search_text(text):
            context = self.needles.mask(text[max(0, at - 60) : at + 60])
            self.hits.append(Hit(where, name, form, " ".join(context.split())))

    def blob(self, where: str, data: bytes, *, kind: str = "files") -> None:
        self._count(kind)
        for name, form, at in self.needles.search_bytes(data):
            snippet = data[max(0, at - 60) : at + 60].decode("utf-8", "replace")
            context = self.needles.mask(snippet)
            self.hits.append(Hit(where, name, form, " ".join(context.split())))

    def tree(self, root: Path, *, since: float | None = None, skip: Iterable[str] = (),
             pattern: str = "*") -> None:  # fmt: skip
        """Every regular file under `root` (modified at or after `since`, when given)."""
        skipped = set(skip)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in skipped]
            for filename in filenames:
                path = Path(dirpath, filename)
                if pattern != "*" and not path.match(pattern):
                    continue
                try:
                    if not path.is_file() or path.is_symlink():
                        continue
                    if since is not None and path.stat().st_mtime < since:
                        continue
                    data = path.read_bytes()
                except (PermissionError, FileNotFoundError, OSError):
                    continue
                self.blob(str(path), data)

    def database(self, libpq_url: str, *, label: str) -> None:
        """Every text, varchar, json(b) and array column of every table outside the catalog."""
        with psycopg.connect(libpq_url, autocommit=True) as conn:
            columns = conn.execute(
                """SELECT c.table_schema, c.table_name, c.column_name, c.data_type
                     FROM information_schema.columns c
                     JOIN information_schema.tables t
                       ON t.table_schema = c.table_schema AND t.table_name = c.table_name
                    WHERE t.table_type = 'BASE TABLE'
                      AND c.table_schema NOT IN ('pg_catalog', 'information_schema')
                      AND c.table_schema NOT LIKE 'pg_toast%%'
                      AND c.data_type = ANY(%s)
                    ORDER BY 1, 2, 3""",
                (list(TEXT_TYPES),),
            ).fetchall()
            for schema, table, column, _ in columns:
                query = sql.SQL("SELECT {c}::text FROM {s}.{t} WHERE {c} IS NOT NULL").format(
                    c=sql.Identifier(column), s=sql.Identifier(schema), t=sql.Identifier(table)
                )
                rows = conn.execute(query).fetchall()
                self.text(
                    f"{label} {schema}.{table}.{column}",
                    "\n".join(r[0] for r in rows),
                    kind="columns",
                )

    def assert_clean(self) -> None:
        if self.hits:
            lines = "\n".join(f"  {h}" for h in self.hits[:50])
            raise AssertionError(f"{len(self.hits)} secret occurrence(s) found:\n{lines}")


def libpq(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def wait_for(predicate, *, timeout: float = 20.0, every: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False
