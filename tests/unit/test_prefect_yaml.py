"""prefect.yaml is the schedule of record: every flow deployed, every cron with its time zone,
one run at a time, the shared work pool, typed parameters that validate against the flow."""
from __future__ import annotations

import ast
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PREFECT_YAML = ROOT / "prefect.yaml"


def load_config() -> dict:
    return yaml.safe_load(PREFECT_YAML.read_text())


def flows_in_code() -> set[str]:
    """Entrypoints `flows/<module>.py:<function>` of every function decorated with @flow."""
    found = set()
    for path in sorted((ROOT / "flows").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for decorator in node.decorator_list:
                    target = decorator.func if isinstance(decorator, ast.Call) else decorator
                    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None)
                    if name == "flow":
                        found.add(f"flows/{path.name}:{node.name}")
    return found


def deployments() -> list[dict]:
    return load_config()["deployments"]


def test_every_flow_has_a_deployment_and_every_deployment_a_flow():
    deployed = {d["entrypoint"] for d in deployments()}
    assert flows_in_code() - deployed == set(), "flows without a deployment in prefect.yaml"
    assert deployed - flows_in_code() == set(), "deployments whose flow does not exist"


def test_deployment_names_are_unique_per_flow():
    keys = [(d["entrypoint"], d["name"]) for d in deployments()]
    assert len(keys) == len(set(keys))


def test_every_cron_names_a_valid_time_zone():
    from prefect.client.schemas.schedules import CronSchedule

    crons = 0
    for deployment in deployments():
        for schedule in deployment.get("schedules") or []:
            assert "cron" in schedule, f"{deployment['name']}: pmflow schedules are crons"
            crons += 1
            assert schedule.get("timezone"), f"{deployment['entrypoint']} {schedule['cron']} has no timezone"
            ZoneInfo(schedule["timezone"])  # raises on an unknown zone
            CronSchedule(cron=schedule["cron"], timezone=schedule["timezone"])  # raises on a bad cron
    assert crons >= 1


def test_every_deployment_runs_one_at_a_time_on_the_shared_process_pool_with_tags():
    from pmflow.ops_settings import OpsSettings

    config = load_config()
    pool = config["definitions"]["work_pools"]["process"]
    assert pool["name"] == OpsSettings().work_pool
    for deployment in config["deployments"]:
        assert deployment["work_pool"] is pool, f"{deployment['name']}: use the shared *process_pool anchor"
        assert deployment["concurrency_limit"]["limit"] == 1, deployment["name"]
        assert deployment["concurrency_limit"]["collision_strategy"] in {"ENQUEUE", "CANCEL_NEW"}
        assert deployment.get("tags"), deployment["name"]
        assert deployment.get("description"), deployment["name"]


def test_schedules_come_from_the_shared_definitions():
    config = load_config()
    shared = [s for s in config["definitions"]["schedules"].values()]
    for deployment in config["deployments"]:
        for schedule in deployment.get("schedules") or []:
            assert any(schedule is s for s in shared), f"{deployment['name']}: schedule not from definitions"


def test_no_secret_is_written_in_prefect_yaml():
    text = PREFECT_YAML.read_text()
    for marker in ("xoxb-", "xoxp-", "ghp_", "github_pat_", "sk-", "lin_api_", "postgresql://"):
        assert marker not in text


@pytest.mark.parametrize("deployment", deployments(), ids=lambda d: d["entrypoint"])
def test_parameters_are_typed_and_validate_against_the_flow(deployment):
    """Every flow parameter has a type (pydantic models are welcome: the UI renders and validates
    their form), and the parameters prefect.yaml sets are accepted by the flow."""
    from prefect.flows import load_flow_from_entrypoint
    from prefect.utilities.callables import parameter_schema

    flow = load_flow_from_entrypoint(str(ROOT / deployment["entrypoint"]))
    schema = parameter_schema(flow).model_dump_for_openapi()
    for name, spec in schema.get("properties", {}).items():
        assert {"type", "$ref", "anyOf", "allOf"} & set(spec), f"{flow.name}: parameter {name} has no type"
    flow.validate_parameters(deployment.get("parameters") or {})
