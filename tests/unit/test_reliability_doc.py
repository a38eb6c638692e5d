"""RELIABILITY.md names, for each guarantee, the tests that prove it: every test it cites must exist,
and every reliability and security test file must be cited, so the document cannot drift from the
suite."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "RELIABILITY.md"
# `tests/x/test_y.py::test_z`, `tests/x/test_y.py`, `tests/contract/`, or `::test_z` (same file as before)
CITATION = re.compile(r"`((?:tests/[\w/]+(?:\.py)?)?)(?:::(\w+))?`")


def citations() -> list[tuple[str, str | None]]:
    """(path, test name or None) for each citation, a bare `::name` resolved to the file cited before it."""
    cited, current = [], None
    for path, name in CITATION.findall(DOC.read_text()):
        if not path and not name:
            continue
        current = path or current
        cited.append((current, name or None))
    return cited


def defined_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name.startswith("test")}


def test_every_cited_test_exists():
    missing = []
    for path, name in citations():
        target = ROOT / path
        if not target.exists():
            missing.append(path)
        elif name and name not in defined_tests(target):
            missing.append(f"{path}::{name}")
    assert citations() and missing == []


def test_every_reliability_and_security_test_file_is_cited():
    cited = {path for path, _ in citations()}
    files = sorted(str(p.relative_to(ROOT)) for folder in ("tests/reliability", "tests/security")
                   for p in (ROOT / folder).glob("test_*.py"))
    assert [f for f in files if f not in cited] == []
