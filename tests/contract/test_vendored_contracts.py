"""The contracts vendored in connectors/sandbox/contracts are the official ones: byte-identical to
the shared copies (../shared/contracts) wherever those are present, licences included."""
from __future__ import annotations

from pathlib import Path

import pytest

from connectors.sandbox import CONTRACTS_DIR

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "contracts"
VENDORED = sorted(p.relative_to(CONTRACTS_DIR) for p in CONTRACTS_DIR.rglob("*") if p.is_file())


def test_every_api_has_its_description_and_licence():
    names = {str(p) for p in VENDORED}
    assert {"slack/slack_web_openapi_v2.json", "linear/schema.graphql",
            "github/github-rest-subset-2022-07-18.json"} <= names
    for api in ("slack", "linear", "github"):
        assert any(n.startswith(f"{api}/LICENSE") for n in names), f"{api} has no licence file"


@pytest.mark.skipif(not SHARED.exists(), reason="no shared contracts beside this checkout")
@pytest.mark.parametrize("relative", VENDORED, ids=str)
def test_vendored_copy_equals_the_shared_contract(relative):
    assert (CONTRACTS_DIR / relative).read_bytes() == (SHARED / relative).read_bytes()
