#!/usr/bin/env python3
"""Bootstrap and run pmflow with nothing but Python 3.11+.

    python3 dev.py demo          # sandbox workspace -> pipeline -> data/warehouse.duckdb
    python3 dev.py test          # the test suite (extra arguments go to pytest)
    python3 dev.py <command>     # any other `pmflow` command, e.g. sql "SELECT 1"

The first call installs uv (from PyPI) into .venv-tools/ and the locked dependencies
(uv.lock) into .venv/; later calls reuse both.
"""
from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TOOLS = ROOT / ".venv-tools"
UV_VERSION = "0.13.9"


def _bin(env_dir: Path, name: str) -> Path:
    return env_dir / ("Scripts" if os.name == "nt" else "bin") / name


def _uv() -> Path:
    uv = _bin(TOOLS, "uv")
    if not uv.exists():
        venv.create(TOOLS, with_pip=True)
        subprocess.run([_bin(TOOLS, "python"), "-m", "pip", "install", "-q", f"uv=={UV_VERSION}"], check=True)
    return uv


def _sync() -> None:
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    subprocess.run([_uv(), "sync", "--frozen", "--quiet", "--python", sys.executable], cwd=ROOT, env=env, check=True)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    _sync()
    venv_dir = ROOT / ".venv"
    if argv[0] == "test":
        command = [_bin(venv_dir, "python"), "-m", "pytest", *argv[1:]]
    else:
        command = [_bin(venv_dir, "pmflow"), *argv]
    return subprocess.call(command, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
