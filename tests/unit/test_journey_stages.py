"""The journey stage model: the default mapping, layered overrides, validation, the SQL rows."""
from __future__ import annotations

import pytest

from pmflow.journeys.stages import ANY, StageConfigError, load_stage_config, resolve


@pytest.mark.parametrize(("state_type", "name", "stage"), [
    ("triage", "Triage", "Discovery"),
    ("backlog", "Backlog", "Discovery"),
    ("unstarted", "Todo", "Planning"),
    ("started", "In Progress", "Execution"),
    ("started", "In Review", "Validation"),
    ("started", "Code review", "Validation"),
    ("started", "QA", "Validation"),
    ("completed", "Done", "Delivery"),
    ("completed", "Reviewed", "Delivery"),  # review-ish names map to Validation only for started states
    ("canceled", "Canceled", "Closure"),
    ("canceled", "Duplicate", "Closure"),
    ("archived", "", "Closure"),
    ("STARTED", "in review", "Validation"),  # case-insensitive
    ("custom", "Limbo", None),
])
def test_default_model_maps_linear_state_types_and_review_names(state_type, name, stage):
    model = load_stage_config().model_for("any-workspace", "ANY")
    assert model.stage_for(state_type, name) == stage


def test_default_model_order_flags_and_open_pr_lift():
    model = load_stage_config().model_for("w", "T")
    assert model.names == ["Discovery", "Planning", "Execution", "Validation", "Delivery", "Closure"]
    assert (model.done_stage, model.closed_stage) == ("Delivery", "Closure")
    assert (model.open_pr_stage, model.open_pr_from) == ("Validation", ("Execution",))
    assert model.default_timezone == "UTC" and model.team_timezone is None


def test_file_overrides_layer_by_team_and_workspace(tmp_path):
    path = tmp_path / "stages.yaml"
    path.write_text("""
timezone: Europe/Paris
teams:
  OPS:
    timezone: America/New_York
    extra_rules:
      - {name: "Deployed", stage: Delivery}
workspaces:
  acme:
    open_pr: null
    teams:
      WEB:
        rules:
          - {type: started, stage: Execution}
          - {type: completed, stage: Delivery}
""")
    config = load_stage_config(path)
    default = config.model_for("other", "ENG")
    assert default.default_timezone == "Europe/Paris" and default.team_timezone is None
    ops = config.model_for("other", "OPS")
    assert ops.team_timezone == "America/New_York"
    assert ops.stage_for("started", "Deployed") == "Delivery"  # extra rule checked first
    assert ops.stage_for("started", "In Review") == "Validation"  # inherited rules still apply
    acme = config.model_for("acme", "ENG")
    assert acme.open_pr_stage is None
    assert config.model_for("acme", "OPS").team_timezone == "America/New_York"  # team layer inside workspace
    assert config.model_for("acme", "OPS").open_pr_stage is None  # workspace layer kept under the team
    web = config.model_for("acme", "WEB")
    assert web.stage_for("started", "In Review") == "Execution"  # rules replaced
    assert web.stage_for("backlog", "Backlog") is None
    assert set(config.scopes) == {(ANY, ANY), (ANY, "OPS"), ("acme", ANY), ("acme", "OPS"), ("acme", "WEB")}


def test_toml_file_works_like_yaml(tmp_path):
    path = tmp_path / "stages.toml"
    path.write_text('timezone = "Asia/Tokyo"\n[teams.ENG]\ntimezone = "Europe/London"\n')
    config = load_stage_config(path)
    assert config.model_for("w", "ENG").team_timezone == "Europe/London"
    assert config.model_for("w", "X").default_timezone == "Asia/Tokyo"


@pytest.mark.parametrize(("override", "message"), [
    ({"stagez": []}, "unknown key"),
    ({"stages": ["A", "B"]}, "exactly one stage must set `done: true`"),
    ({"stages": [{"name": "A", "done": True}, {"name": "B", "starts_cycle": True}]}, "must come before the done"),
    ({"stages": [{"name": "A", "starts_cycle": True}, {"name": "A", "done": True}]}, "unique"),
    ({"rules": [{"type": "started", "stage": "Doing"}]}, "unknown stage"),
    ({"rules": [{"stage": "Execution"}]}, "must match on `type`, `name` or both"),
    ({"open_pr": {"stage": "Review", "from": ["Execution"]}}, "unknown stage 'Review'"),
    ({"timezone": "Mars/Olympus"}, "unknown timezone"),
    ({"teams": {"ENG": {"colour": "red"}}}, "teams.ENG: unknown key"),
])
def test_invalid_configs_fail_with_a_message_naming_the_problem(override, message):
    default = {"stages": [{"name": "Discovery"}, {"name": "Execution", "starts_cycle": True},
                          {"name": "Delivery", "done": True}],
               "rules": [{"type": "started", "stage": "Execution"}], "open_pr": None}
    with pytest.raises(StageConfigError, match=message):
        resolve(default, override, source="test.yaml")


def test_unreadable_or_malformed_file_is_a_clear_error(tmp_path):
    with pytest.raises(StageConfigError, match="cannot read"):
        load_stage_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("stages: [unclosed")
    with pytest.raises(StageConfigError, match="not valid"):
        load_stage_config(bad)


def test_tables_hold_one_scope_row_per_scope_with_ordered_stages_and_rules(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("teams: {OPS: {timezone: Asia/Tokyo}}\n")
    tables = load_stage_config(path).tables()
    scopes = tables["ops.journey_scopes"].to_pylist()
    assert [(s["scope_workspace"], s["scope_team"], s["timezone"]) for s in scopes] == [
        ("*", "*", None), ("*", "OPS", "Asia/Tokyo")]
    stages = [s for s in tables["ops.journey_stages"].to_pylist() if s["scope_team"] == "*"]
    assert [(s["stage"], s["stage_order"]) for s in stages][:3] == [("Discovery", 1), ("Planning", 2), ("Execution", 3)]
    assert [s["lifted_to"] for s in stages] == [None, None, "Validation", None, None, None]
    rules = [r for r in tables["ops.journey_stage_rules"].to_pylist() if r["scope_team"] == "*"]
    assert rules[0] == {"scope_workspace": "*", "scope_team": "*", "rule_order": 1, "state_type": "started",
                        "name_glob": "*review*", "name_regex": ".*review.*", "stage": "Validation"}
