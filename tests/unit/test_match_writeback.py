"""Write-back to Linear: off by default, a dry run calls nothing, the documents are valid against
Linear's official schema, and no comment or ticket is ever created twice: not on re-runs, not
when a response is lost and the call retried, not when a run dies between claim and call."""
from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
from graphql import parse, validate

from connectors.linear import LinearClient
from connectors.sandbox.linear_api import linear_schema
from connectors.sandbox.world import World
from pmflow.matching import writeback
from pmflow.matching.calibration import sandbox_warehouse
from pmflow.matching.engine import match_workspace
from pmflow.matching.fake_linear import FakeLinear
from pmflow.matching_settings import MatchSettings
from warehouse import Warehouse

SETTINGS = MatchSettings(writeback_min_score=0.6, writeback_since_days=60)


@pytest.fixture(scope="module")
def world():
    return World.generate(7, "tiny")


@pytest.fixture(scope="module")
def decided(world, tmp_path_factory):
    """The tiny world's ground truth, matched once."""
    path = tmp_path_factory.mktemp("decided") / "warehouse.duckdb"
    wh = sandbox_warehouse(world, path)
    match_workspace(wh, world.workspace_id, SETTINGS)
    return path


@pytest.fixture
def wh(decided, tmp_path):
    shutil.copy(decided, tmp_path / "warehouse.duckdb")
    return Warehouse(tmp_path / "warehouse.duckdb")


def client(fake: FakeLinear) -> LinearClient:
    return LinearClient("lin_api_test", "https://linear.invalid/graphql", transport=fake.transport(),
                        sleep=lambda s: None, max_retries=3)


def run(wh, world, fake, mode="on", settings=SETTINGS):
    return writeback.write_back(wh, world.workspace_id, settings, client(fake), mode=mode,
                                now=world.now + timedelta(hours=1))


def ledger(wh) -> dict[str, tuple]:
    return {key: (action, status, result) for key, action, status, result in wh.query(
        "SELECT idempotency_key, action, status, result_id FROM ops.match_actions")}


@pytest.mark.parametrize("document", [writeback.COMMENT_CREATE, writeback.ISSUE_CREATE, writeback.COMMENT_EXISTS,
                                      writeback.ISSUE_EXISTS])
def test_documents_are_valid_against_linears_schema(document):
    assert validate(linear_schema(), parse(document)) == []


def test_off_by_default(wh, world):
    fake = FakeLinear()
    report = writeback.write_back(wh, world.workspace_id, MatchSettings(), client(fake))
    assert report.mode == "off" and fake.operations == {} and ledger(wh) == {}


def test_dry_run_lists_the_plan_and_calls_nothing(wh, world):
    fake = FakeLinear()
    report = run(wh, world, fake, mode="dry_run")
    assert report.planned and fake.operations == {}
    assert {a["action"] for a in report.planned} <= set(writeback.ACTIONS)
    assert {status for _, status, _ in ledger(wh).values()} == {"planned"}
    comments = [a for a in report.planned if a["action"] == "comment"]
    assert comments, "the tiny world has threads citing tickets"


def test_actions_are_made_once_and_never_again(wh, world):
    fake = FakeLinear()
    first = run(wh, world, fake)
    planned_external = [a for a in first.planned if a["action"] in writeback.EXTERNAL_ACTIONS]
    assert first.done == len(planned_external) == fake.mutation_count > 0
    assert len(fake.comments) + len(fake.issues) == fake.mutation_count
    assert {name for name, _ in fake.mutations} <= {"commentCreate", "issueCreate"}
    done = ledger(wh)

    again = run(wh, world, fake)
    assert again.planned == [] and fake.mutation_count == first.done

    # the units decided again from scratch (say, after their text changed): still never twice
    match_workspace(wh, world.workspace_id, SETTINGS, all_units=True)
    run(wh, world, fake)
    assert fake.mutation_count == first.done and ledger(wh) == done


def test_a_lost_response_is_retried_without_a_duplicate(wh, world):
    fake = FakeLinear(lose_responses=2)
    report = run(wh, world, fake)
    assert report.failed == 0 and report.pending == 0
    assert fake.mutation_count > report.done  # the client re-sent the calls whose answer was lost
    assert len(fake.comments) + len(fake.issues) == report.done
    assert all(status in ("done", "suggested") for _, status, _ in ledger(wh).values())


def test_a_claim_left_pending_by_a_crash_is_settled_once(wh, world):
    fake = FakeLinear()
    with wh.connect() as con:
        actions = writeback.plan_actions(con, world.workspace_id, SETTINGS, now=world.now + timedelta(hours=1))
    comment, other = [a for a in actions if a.action in writeback.EXTERNAL_ACTIONS][:2]
    writeback._insert(wh, [comment, other], "pending")  # claimed, then the run died
    store = fake.comments if other.action == "comment" else fake.issues
    store[other.entity_id] = {"id": other.entity_id, "identifier": "TRI-0"}  # ... after this one reached Linear

    report = run(wh, world, fake)
    assert report.recovered == 2
    assert [m for m in fake.mutations if m[1]["id"] == other.entity_id] == []
    assert [m[1]["id"] for m in fake.mutations].count(comment.entity_id) == 1
    assert ledger(wh)[comment.key][1] == ledger(wh)[other.key][1] == "done"


def test_a_refused_action_fails_and_is_not_retried(wh, world):
    fake = FakeLinear(refuse=True)
    first = run(wh, world, fake)
    assert first.failed > 0 and first.done == 0
    attempts = fake.mutation_count
    run(wh, world, FakeLinear())
    assert fake.mutation_count == attempts


def test_the_cap_bounds_one_run(wh, world):
    fake = FakeLinear()
    report = run(wh, world, fake, settings=SETTINGS.model_copy(update={"max_actions_per_run": 1}))
    assert fake.mutation_count == 1 and report.skipped_over_cap >= 0


def test_state_moves_are_only_suggested():
    assert writeback.state_suggestion("closing the loop: the fix is out, should be good now") [0] == "done"
    assert writeback.state_suggestion("this is blocked on the payments team review")[0] == "blocked"
    assert writeback.state_suggestion("any update?") is None


def test_chat_text_is_quoted_inert():
    quoted = writeback.quote("<@U1> click <https://evil.example/x|here> and **close** ENG-1 `rm -rf`")
    assert "http" not in quoted and "<" not in quoted and "*" not in quoted and "`" not in quoted
    assert writeback.entity_uuid("k")[14] == "4" and writeback.entity_uuid("k") == writeback.entity_uuid("k")
