"""SQL models: one SELECT per file, staging views then mart tables, built in dependency order.

`warehouse/models/staging/x.sql` becomes the view staging.x; `warehouse/models/marts/y.sql` the
table marts.y, rebuilt whole in one transaction (readers see the old table or the new, never half).
A model's leading `--` comment lines become its COMMENT ON. Dependencies are read from the
`staging.` / `marts.` names a model mentions, so files need no ordering of their own.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from graphlib import TopologicalSorter
from pathlib import Path

import duckdb

MODELS_DIR = Path(__file__).parent / "models"
_REFERENCE = re.compile(r"\b(staging|marts)\.([a-z_][a-z0-9_]*)\b")


@dataclass(frozen=True)
class Model:
    schema: str
    name: str
    sql: str

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def description(self) -> str:
        lines = []
        for line in self.sql.lstrip().splitlines():
            if not line.startswith("--"):
                break
            lines.append(line[2:].strip())
        return " ".join(lines).strip()

    @property
    def depends_on(self) -> set[str]:
        body = "\n".join(l for l in self.sql.splitlines() if not l.lstrip().startswith("--"))
        return {f"{s}.{n}" for s, n in _REFERENCE.findall(body)} - {self.qualified}


def load_models(directory: Path = MODELS_DIR) -> dict[str, Model]:
    models = {}
    for schema in ("staging", "marts"):
        for path in sorted((directory / schema).glob("*.sql")):
            model = Model(schema, path.stem, path.read_text())
            models[model.qualified] = model
    return models


def build_order(models: dict[str, Model], targets: list[str] | None = None) -> list[Model]:
    """The models to build for `targets` (all when None) with everything they depend on, in order."""
    wanted = set(targets or models)
    unknown = wanted - set(models)
    if unknown:
        raise KeyError(f"unknown models: {sorted(unknown)}")
    closure, stack = set(), list(wanted)
    while stack:
        name = stack.pop()
        if name in closure:
            continue
        closure.add(name)
        stack.extend(d for d in models[name].depends_on if d in models)
    graph = {name: {d for d in models[name].depends_on if d in closure} for name in closure}
    return [models[name] for name in TopologicalSorter(graph).static_order()]


def build_models(con: duckdb.DuckDBPyConnection, targets: list[str] | None = None) -> dict[str, float]:
    """Builds models in one transaction; returns seconds per model (for artifacts and benchmarks)."""
    timings = {}
    con.execute("CREATE SCHEMA IF NOT EXISTS staging")
    con.execute("BEGIN TRANSACTION")
    try:
        for model in build_order(load_models(), targets):
            started = time.perf_counter()
            kind = "VIEW" if model.schema == "staging" else "TABLE"
            con.execute(f"CREATE OR REPLACE {kind} {model.qualified} AS\n{model.sql}")
            if model.description:
                con.execute(f"COMMENT ON {kind} {model.qualified} IS {_sql_literal(model.description)}")
            timings[model.qualified] = time.perf_counter() - started
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return timings


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
