"""The journey stage model: ordered stages, and rules mapping Linear workflow states onto them.

The default lives in `stages.yaml` beside this module (read it: it documents every key). A file named
by PMFLOW_JOURNEY_STAGES (YAML, or TOML / JSON by extension) is layered over it, and may override
per workspace and per team. `StageConfig.tables()` turns the resolved layers into the rows of
ops.journey_scopes, ops.journey_stages and ops.journey_stage_rules, which the SQL models read:
every (workspace, team) of core.linear_issues uses its most specific scope.

Pure Python: no Prefect, no warehouse connection.
"""
from __future__ import annotations

import copy
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa
import yaml

DEFAULT_CONFIG = Path(__file__).with_name("stages.yaml")
ANY = "*"
"""scope_workspace / scope_team value meaning "every workspace" / "every team"."""

_LAYER_KEYS = {"stages", "rules", "extra_rules", "open_pr", "timezone"}
_TOP_KEYS = _LAYER_KEYS | {"teams", "workspaces"}
_WORKSPACE_KEYS = _LAYER_KEYS | {"teams"}


class StageConfigError(ValueError):
    """The stage configuration is invalid; the message names the file and the key."""


@dataclass(frozen=True)
class Stage:
    name: str
    starts_cycle: bool = False
    done: bool = False
    closed: bool = False


@dataclass(frozen=True)
class Rule:
    stage: str
    type: str | None = None
    name: str | None = None

    @property
    def name_regex(self) -> str | None:
        """The name glob as an anchored RE2/Python regex (matched case-insensitively)."""
        if self.name is None:
            return None
        parts = []
        for char in self.name:
            parts.append(".*" if char == "*" else "." if char == "?" else re.escape(char))
        return "".join(parts)

    def matches(self, state_type: str | None, state_name: str | None) -> bool:
        if self.type is not None and (state_type or "").lower() != self.type:
            return False
        return self.name is None or bool(re.fullmatch(self.name_regex, state_name or "", re.IGNORECASE | re.DOTALL))


@dataclass(frozen=True)
class StageModel:
    """The resolved stage model of one scope (a workspace and/or a team, or the default)."""

    stages: tuple[Stage, ...]
    rules: tuple[Rule, ...]
    open_pr_stage: str | None
    open_pr_from: tuple[str, ...]
    default_timezone: str
    team_timezone: str | None = None

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.stages]

    @property
    def done_stage(self) -> str:
        return next(s.name for s in self.stages if s.done)

    @property
    def closed_stage(self) -> str | None:
        return next((s.name for s in self.stages if s.closed), None)

    def stage_for(self, state_type: str | None, state_name: str | None) -> str | None:
        """The stage of a Linear state (first matching rule), None when no rule matches.
        Mirrors the SQL in warehouse/models/staging/journey_state_stages.sql."""
        return next((r.stage for r in self.rules if r.matches(state_type, state_name)), None)


@dataclass(frozen=True)
class StageConfig:
    scopes: Mapping[tuple[str, str], StageModel]
    source: str

    def model_for(self, workspace_id: str, team_key: str | None) -> StageModel:
        """The model a ticket of `team_key` in `workspace_id` uses (most specific scope wins)."""
        for key in ((workspace_id, team_key), (ANY, team_key), (workspace_id, ANY), (ANY, ANY)):
            if key in self.scopes:
                return self.scopes[key]
        raise AssertionError("the default scope is always present")

    def tables(self) -> dict[str, pa.Table]:
        """Rows for ops.journey_scopes, ops.journey_stages and ops.journey_stage_rules."""
        scopes, stages, rules = [], [], []
        for (workspace, team), model in sorted(self.scopes.items()):
            scope = {"scope_workspace": workspace, "scope_team": team}
            scopes.append({**scope, "timezone": model.team_timezone, "default_timezone": model.default_timezone,
                           "open_pr_stage": model.open_pr_stage, "config_source": self.source})
            for order, stage in enumerate(model.stages, start=1):
                lifted = model.open_pr_stage if stage.name in model.open_pr_from else None
                stages.append({**scope, "stage": stage.name, "stage_order": order, "starts_cycle": stage.starts_cycle,
                               "is_done": stage.done, "is_closed": stage.closed, "lifted_to": lifted})
            for order, rule in enumerate(model.rules, start=1):
                rules.append({**scope, "rule_order": order, "state_type": rule.type, "name_glob": rule.name,
                              "name_regex": rule.name_regex, "stage": rule.stage})
        return {
            "ops.journey_scopes": pa.Table.from_pylist(scopes, schema=_SCOPES_SCHEMA),
            "ops.journey_stages": pa.Table.from_pylist(stages, schema=_STAGES_SCHEMA),
            "ops.journey_stage_rules": pa.Table.from_pylist(rules, schema=_RULES_SCHEMA),
        }


_SCOPE_FIELDS = [("scope_workspace", pa.string()), ("scope_team", pa.string())]
_SCOPES_SCHEMA = pa.schema(_SCOPE_FIELDS + [("timezone", pa.string()), ("default_timezone", pa.string()),
                                            ("open_pr_stage", pa.string()), ("config_source", pa.string())])
_STAGES_SCHEMA = pa.schema(_SCOPE_FIELDS + [("stage", pa.string()), ("stage_order", pa.int32()),
                                            ("starts_cycle", pa.bool_()), ("is_done", pa.bool_()),
                                            ("is_closed", pa.bool_()), ("lifted_to", pa.string())])
_RULES_SCHEMA = pa.schema(_SCOPE_FIELDS + [("rule_order", pa.int32()), ("state_type", pa.string()),
                                           ("name_glob", pa.string()), ("name_regex", pa.string()),
                                           ("stage", pa.string())])


# -- loading -----------------------------------------------------------------------------------


def load_stage_config(path: str | Path | None = None) -> StageConfig:
    """The default model, with the file at `path` (if any) layered over it."""
    default = _read(DEFAULT_CONFIG)
    if path is None:
        return resolve(default, {}, source="default")
    return resolve(default, _read(Path(path)), source=str(path))


def resolve(default: Mapping[str, Any], override: Mapping[str, Any], *, source: str) -> StageConfig:
    """Resolves the layers into one StageModel per scope (see stages.yaml for the precedence)."""
    _check_keys(override, _TOP_KEYS, source)
    top = _merge(_layer(default), _layer(override))
    base = _model(top, team_tz=None, where=f"{source}")
    top_teams = {**(default.get("teams") or {}), **(override.get("teams") or {})}
    workspaces = {**(default.get("workspaces") or {}), **(override.get("workspaces") or {})}
    scopes: dict[tuple[str, str], StageModel] = {(ANY, ANY): base}
    for team, layer in top_teams.items():
        _check_keys(layer, _LAYER_KEYS, f"{source}: teams.{team}")
        scopes[(ANY, str(team))] = _model(_merge(top, _layer(layer)), team_tz=(layer or {}).get("timezone"),
                                          where=f"{source}: teams.{team}")
    for workspace, ws_layer in workspaces.items():
        ws_layer = ws_layer or {}
        _check_keys(ws_layer, _WORKSPACE_KEYS, f"{source}: workspaces.{workspace}")
        ws_top = _merge(top, _layer(ws_layer))
        scopes[(str(workspace), ANY)] = _model(ws_top, team_tz=None, where=f"{source}: workspaces.{workspace}")
        ws_teams = ws_layer.get("teams") or {}
        for team in set(top_teams) | set(ws_teams):
            layers = [_layer(top_teams.get(team)), _layer(ws_teams.get(team))]
            _check_keys(ws_teams.get(team) or {}, _LAYER_KEYS, f"{source}: workspaces.{workspace}.teams.{team}")
            merged = _merge(_merge(ws_top, layers[0]), layers[1])
            team_tz = (ws_teams.get(team) or {}).get("timezone") or (top_teams.get(team) or {}).get("timezone")
            scopes[(str(workspace), str(team))] = _model(
                merged, team_tz=team_tz, where=f"{source}: workspaces.{workspace}.teams.{team}")
    return StageConfig(scopes, source)


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise StageConfigError(f"cannot read the journey stage config {path}: {exc}") from None
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise StageConfigError(f"{path} is not valid {path.suffix.lstrip('.') or 'YAML'}: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise StageConfigError(f"{path}: the top level must be a mapping of keys (stages, rules, ...)")
    return data


def _check_keys(layer: Any, allowed: set[str], where: str) -> None:
    if layer is None:
        return
    if not isinstance(layer, Mapping):
        raise StageConfigError(f"{where}: expected a mapping, got {type(layer).__name__}")
    unknown = set(layer) - allowed
    if unknown:
        raise StageConfigError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")


def _layer(layer: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (layer or {}).items() if k in _LAYER_KEYS}


def _merge(parent: Mapping[str, Any], child: Mapping[str, Any]) -> dict[str, Any]:
    """Each key of `child` replaces the parent's; `extra_rules` go before the inherited rules."""
    merged = copy.deepcopy(dict(parent))
    for key, value in child.items():
        if key == "extra_rules":
            merged["rules"] = list(value or []) + list(merged.get("rules") or [])
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _model(layer: Mapping[str, Any], *, team_tz: str | None, where: str) -> StageModel:
    stages = tuple(_stage(raw, where) for raw in layer.get("stages") or [])
    names = [s.name for s in stages]
    if not stages:
        raise StageConfigError(f"{where}: `stages` must list at least one stage")
    if len(set(names)) != len(names):
        raise StageConfigError(f"{where}: stage names must be unique, got {names}")
    for flag in ("done", "starts_cycle"):
        if sum(getattr(s, flag) for s in stages) != 1:
            raise StageConfigError(f"{where}: exactly one stage must set `{flag}: true`")
    if sum(s.closed for s in stages) > 1:
        raise StageConfigError(f"{where}: at most one stage may set `closed: true`")
    if any(s.done and s.closed for s in stages):
        raise StageConfigError(f"{where}: a stage cannot be both done and closed")
    start = next(i for i, s in enumerate(stages) if s.starts_cycle)
    done = next(i for i, s in enumerate(stages) if s.done)
    if start >= done:
        raise StageConfigError(f"{where}: the starts_cycle stage must come before the done stage")
    rules = tuple(_rule(raw, names, where) for raw in layer.get("rules") or [])
    open_pr = layer.get("open_pr")
    pr_stage, pr_from = None, ()
    if open_pr:
        if not isinstance(open_pr, Mapping) or set(open_pr) - {"stage", "from"} or "stage" not in open_pr:
            raise StageConfigError(f"{where}: open_pr must be {{stage: <stage>, from: [<stage>, ...]}} or null")
        pr_stage, pr_from = open_pr["stage"], tuple(open_pr.get("from") or ())
        for name in (pr_stage, *pr_from):
            if name not in names:
                raise StageConfigError(f"{where}: open_pr names an unknown stage {name!r}; stages are {names}")
    default_tz = layer.get("timezone") or "UTC"
    for tz in (default_tz, team_tz):
        if tz is not None:
            _check_timezone(tz, where)
    return StageModel(stages, rules, pr_stage, pr_from, default_tz, team_tz)


def _stage(raw: Any, where: str) -> Stage:
    if isinstance(raw, str):
        return Stage(raw)
    if not isinstance(raw, Mapping) or "name" not in raw or set(raw) - {"name", "starts_cycle", "done", "closed"}:
        raise StageConfigError(f"{where}: a stage is a name or {{name, starts_cycle?, done?, closed?}}, got {raw!r}")
    return Stage(str(raw["name"]), bool(raw.get("starts_cycle")), bool(raw.get("done")), bool(raw.get("closed")))


def _rule(raw: Any, names: list[str], where: str) -> Rule:
    if not isinstance(raw, Mapping) or "stage" not in raw or set(raw) - {"stage", "type", "name"}:
        raise StageConfigError(f"{where}: a rule is {{stage, type?, name?}}, got {raw!r}")
    if raw.get("type") is None and raw.get("name") is None:
        raise StageConfigError(f"{where}: rule {dict(raw)} must match on `type`, `name` or both")
    if raw["stage"] not in names:
        raise StageConfigError(f"{where}: rule {dict(raw)} names an unknown stage; stages are {names}")
    state_type = str(raw["type"]).lower() if raw.get("type") is not None else None
    return Rule(str(raw["stage"]), state_type, str(raw["name"]) if raw.get("name") is not None else None)


def _check_timezone(tz: str, where: str) -> None:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise StageConfigError(f"{where}: unknown timezone {tz!r} (use an IANA name like Europe/Paris)") from None
