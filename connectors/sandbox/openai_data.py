"""The OpenAI part of the sandbox world: organization usage, billed costs, agent traces, ground truth.

Deterministic in the world's seed (its own ``random.Random(f"{seed}:openai")`` stream) and dated
before the world's ``now``. What is generated, per UTC day over the world's span:

- agent calls: AI agents working on the world's tickets (one OpenAI project per team), as
  OpenTelemetry GenAI JSONL events (``agent_trace_lines``) with agent, project and ticket. Most
  use OpenAI models and are therefore also counted in the organization usage; some use Anthropic
  (``claude-sonnet-4-5``, not in OpenAI's usage) and a self-hosted model no catalogue knows
  (``acme-coder-7b`` on ``vllm``), which pricing must flag, not price at 0.
- background usage: other applications of the organization (chat, batch jobs, embeddings).
- organization usage = agent OpenAI calls + background, aggregated per day x project x model x
  batch, served by ``/organization/usage/{completions,embeddings}``.
- billed costs, served by ``/organization/costs``: the usage priced by genai-prices' own
  ``calc_price`` (batch at the catalogue's batch price, else 50% off), split in line items. A few
  (day, project) pairs are deliberately billed 12% more (``drifted``) and one 2% more (below the
  default 5% threshold), so reconciliation has something to find and something to ignore.
- malformed trace lines (``bad_trace_lines``) with the reason each must be quarantined for.

Ground truth: ``expected_usage`` (what core.llm_usage must hold for source openai_usage),
``expected_costs`` (core.openai_costs), ``expected_trace_usage`` (source agent_trace).
"""
from __future__ import annotations

import hashlib
import json
import random
import threading
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

DAY_S = 86_400

AGENTS = ("triage-bot", "code-reviewer", "test-writer", "release-notes")
AGENT_MODELS = (  # (provider, model, weight)
    ("openai", "gpt-4.1", 5),
    ("openai", "gpt-5-mini", 6),
    ("openai", "o3", 2),
    ("anthropic", "claude-sonnet-4-5", 3),
    ("vllm", "acme-coder-7b", 1),
)
BACKGROUND_COMPLETION_MODELS = ("gpt-4o-mini", "gpt-4.1", "gpt-5-mini")
EMBEDDING_MODEL = "text-embedding-3-small"
DRIFT_FACTOR = 1.12
SMALL_DRIFT_FACTOR = 1.02
ADMIN_KEY = "sk-admin-sandbox-0000"
API_KEY = "sk-proj-sandbox-0000"


@dataclass(frozen=True, slots=True)
class AgentCall:
    event_id: str
    occurred_at: datetime
    agent: str
    provider: str
    model: str
    project: str
    ticket_id: str
    input_tokens: int
    cached_tokens: int
    output_tokens: int
    batch: bool = False

    def line(self) -> dict:
        """The JSONL event, OpenTelemetry GenAI attribute names."""
        attributes = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": self.provider,
            "gen_ai.request.model": self.model,
            "gen_ai.agent.name": self.agent,
            "gen_ai.usage.input_tokens": self.input_tokens,
            "gen_ai.usage.output_tokens": self.output_tokens,
            "pmflow.project": self.project,
            "pmflow.ticket_id": self.ticket_id,
        }
        if self.cached_tokens:
            attributes["gen_ai.usage.cache_read.input_tokens"] = self.cached_tokens
        return {
            "event_id": self.event_id,
            "timestamp": self.occurred_at.isoformat().replace("+00:00", "Z"),
            "name": f"chat {self.model}",
            "kind": "llm_call",
            "attributes": attributes,
        }


@dataclass(slots=True)
class UsageCell:
    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0

    def add(self, input_tokens: int, cached_tokens: int, output_tokens: int, requests: int = 1) -> None:
        self.input_tokens += input_tokens
        self.cached_tokens += cached_tokens
        self.output_tokens += output_tokens
        self.requests += requests


# (endpoint, day, project_id, model, batch) -> UsageCell
UsageKey = tuple[str, date, str, str, bool]


@dataclass
class OpenAIOrg:
    seed: int
    now: datetime
    start: date
    projects: dict[str, str]  # project_id -> name
    agent_calls: list[AgentCall]
    usage: dict[UsageKey, UsageCell]
    drifted: dict[tuple[date, str], float]
    bad_trace_lines: list[tuple[str, str]]  # (raw line, reason it must be quarantined)
    lock: threading.RLock = field(default_factory=threading.RLock)
    model_calls: list[dict] = field(default_factory=list)
    """Calls made to /chat/completions and /embeddings (the matching engineer's ground truth)."""
    _version: int = 0
    _line_cache: dict = field(default_factory=dict)

    # -- wire views ----------------------------------------------------------------------------

    def usage_results(self, endpoint: str, day: date, group_by: set[str], *, models=None, project_ids=None,
                      batch: bool | None = None) -> list[dict]:
        """The results of one daily bucket, aggregated over the fields not grouped by."""
        groups: dict[tuple, UsageCell] = defaultdict(UsageCell)
        with self.lock:
            items = [(k, v) for k, v in self.usage.items() if k[0] == endpoint and k[1] == day]
        for (_, _, project_id, model, is_batch), cell in items:
            if models and model not in models or project_ids and project_id not in project_ids:
                continue
            if batch is not None and is_batch != batch:
                continue
            key = (project_id if "project_id" in group_by else None, model if "model" in group_by else None,
                   is_batch if "batch" in group_by and endpoint == "completions" else None)
            groups[key].add(cell.input_tokens, cell.cached_tokens, cell.output_tokens, cell.requests)
        results = []
        for (project_id, model, is_batch), cell in sorted(groups.items(), key=lambda kv: tuple(map(str, kv[0]))):
            result = {
                "object": f"organization.usage.{endpoint}.result",
                "input_tokens": cell.input_tokens,
                "num_model_requests": cell.requests,
                "project_id": project_id,
                "user_id": None,
                "api_key_id": None,
                "model": model,
            }
            if endpoint == "completions":
                result.update({
                    "output_tokens": cell.output_tokens,
                    "input_cached_tokens": cell.cached_tokens,
                    "input_audio_tokens": 0,
                    "output_audio_tokens": 0,
                    "batch": is_batch,
                    "service_tier": None,
                })
            results.append(result)
        return results

    def cost_results(self, day: date, group_by: set[str], *, project_ids=None) -> list[dict]:
        groups: dict[tuple, float] = defaultdict(float)
        for (project_id, line_item), value in self.line_items(day).items():
            if project_ids and project_id not in project_ids:
                continue
            key = (project_id if "project_id" in group_by else None, line_item if "line_item" in group_by else None)
            groups[key] += value
        return [
            {"object": "organization.costs.result", "amount": {"value": value, "currency": "usd"},
             "line_item": line_item, "project_id": project_id, "organization_id": "org-sandbox"}
            for (project_id, line_item), value in sorted(groups.items(), key=lambda kv: tuple(map(str, kv[0])))
        ]

    def line_items(self, day: date) -> dict[tuple[str, str], float]:
        """What OpenAI bills for one day: (project_id, line item) -> USD."""
        with self.lock:
            cached = self._line_cache.get(day)
            if cached is not None and cached[0] == self._version:
                return cached[1]
            items = [(k, v) for k, v in self.usage.items() if k[1] == day]
            version = self._version
        out: dict[tuple[str, str], float] = defaultdict(float)
        for (endpoint, _, project_id, model, is_batch), cell in items:
            suffix = " (batch)" if is_batch else ""
            parts = _billed_parts(model, day, is_batch, cell)
            for part, amount in parts.items():
                out[(project_id, f"{model}, {part}{suffix}")] += amount * self.drifted.get((day, project_id), 1.0)
        result = dict(out)
        with self.lock:
            self._line_cache[day] = (version, result)
        return result

    def add_usage(self, day: date, project_id: str, model: str, *, input_tokens: int, output_tokens: int,
                  cached_tokens: int = 0, requests: int = 1, endpoint: str = "completions", batch: bool = False) -> None:
        """More usage on a day (e.g. the still-open current day), for tests of re-reading it."""
        with self.lock:
            cell = self.usage.setdefault((endpoint, day, project_id, model, batch), UsageCell())
            cell.add(input_tokens, cached_tokens, output_tokens, requests)
            self._version += 1

    # -- ground truth --------------------------------------------------------------------------

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.now.date() - self.start).days + 1)]

    def expected_usage(self) -> list[dict]:
        """core.llm_usage rows (source openai_usage) a correct ingestion stores, grouped by
        model, project_id and batch (completions) or model and project_id (embeddings)."""
        rows = []
        with self.lock:
            items = sorted(self.usage.items(), key=lambda kv: tuple(map(str, kv[0])))
        for (endpoint, day, project_id, model, is_batch), cell in items:
            rows.append({
                "endpoint": endpoint, "usage_day": day, "project": project_id, "model": model,
                "batch": is_batch if endpoint == "completions" else False,
                "input_tokens": cell.input_tokens, "cached_tokens": cell.cached_tokens if endpoint == "completions" else 0,
                "output_tokens": cell.output_tokens if endpoint == "completions" else 0, "requests": cell.requests,
            })
        return rows

    def expected_costs(self) -> list[dict]:
        return [
            {"usage_day": day, "project_id": project_id, "line_item": line_item, "amount": amount}
            for day in self.days
            for (project_id, line_item), amount in sorted(self.line_items(day).items())
        ]

    def expected_trace_usage(self) -> list[dict]:
        return [
            {"usage_id": f"agent_trace:{c.event_id}", "occurred_at": c.occurred_at, "agent": c.agent,
             "provider": c.provider, "model": c.model, "project": c.project, "ticket_id": c.ticket_id,
             "input_tokens": c.input_tokens, "cached_tokens": c.cached_tokens, "output_tokens": c.output_tokens}
            for c in self.agent_calls
        ]

    def agent_trace_lines(self, *, include_bad: bool = True) -> list[str]:
        """The JSONL file an agent platform would export: call events, a few non-usage events
        (decisions, handoffs) and, when asked, the malformed lines."""
        lines = [json.dumps(c.line(), sort_keys=True) for c in self.agent_calls]
        for i, call in enumerate(self.agent_calls[::7]):
            lines.append(json.dumps({
                "event_id": f"evt-decision-{i:05d}", "timestamp": call.occurred_at.isoformat().replace("+00:00", "Z"),
                "attributes": {"gen_ai.agent.name": call.agent, "pmflow.event_kind": "decision",
                               "pmflow.ticket_id": call.ticket_id, "pmflow.project": call.project}}, sort_keys=True))
        if include_bad:
            lines += [line for line, _ in self.bad_trace_lines]
        return sorted(lines, key=lambda line: hashlib.md5(line.encode()).hexdigest())

    def write_agent_traces(self, path, *, include_bad: bool = True) -> None:
        from pathlib import Path

        Path(path).write_text("\n".join(self.agent_trace_lines(include_bad=include_bad)) + "\n", encoding="utf-8")


def _billed_parts(model: str, day: date, batch: bool, cell: UsageCell) -> dict[str, float]:
    """OpenAI's bill for one bucket cell, from genai-prices' own calc_price (an independent path
    from pmflow's vectorised pricing)."""
    from genai_prices import Usage, calc_price

    when = datetime.combine(day, time(12), tzinfo=UTC)
    context, factor = None, Decimal(1)
    if batch:
        _, info = _catalogue_model(model)
        active = any(v.when.get("processing") == "batch" and (v.constraint is None or v.constraint.active(when))
                     and any(p is not None for p in v.prices.__dict__.values())
                     for v in info.price_variants or ())
        context, factor = ({"processing": "batch"}, Decimal(1)) if active else (None, Decimal("0.5"))

    def price(**usage: int) -> float:
        if not any(usage.values()):
            return 0.0
        result = calc_price(Usage(**usage), model, provider_id="openai", genai_request_timestamp=when,
                            price_context=context)
        return float(result.total_price * factor)

    uncached = cell.input_tokens - cell.cached_tokens
    parts = {"input": price(input_tokens=uncached)}
    if cell.cached_tokens:
        parts["cached input"] = price(input_tokens=cell.cached_tokens, cache_read_tokens=cell.cached_tokens)
    if cell.output_tokens:
        parts["output"] = price(output_tokens=cell.output_tokens)
    return parts


def _catalogue_model(model: str):
    from genai_prices import data_snapshot

    return data_snapshot.get_snapshot().find_provider_model(model, None, "openai", None)


def generate_openai(seed: int, now: datetime, span_days: int, tickets: list[tuple[str, str, datetime]],
                    teams: list[str]) -> OpenAIOrg:
    """The organization's usage. `tickets` are (identifier, team_key, created_at)."""
    rng = random.Random(f"{seed}:openai")
    start = (now - timedelta(days=span_days)).date()
    projects = {f"proj_{team.lower()}": f"{team} agents" for team in teams}
    projects["proj_platform"] = "Platform apps"
    usage: dict[UsageKey, UsageCell] = {}

    def add(endpoint, day, project_id, model, batch, inp, cached, out, requests=1):
        usage.setdefault((endpoint, day, project_id, model, batch), UsageCell()).add(inp, cached, out, requests)

    # Agent calls on tickets, after the ticket exists and before now.
    calls: list[AgentCall] = []
    providers = [(p, m) for p, m, w in AGENT_MODELS for _ in range(w)]
    now_s = int(now.timestamp())
    for identifier, team_key, created_at in tickets:
        for _ in range(rng.randint(1, 6)):
            begin = max(int(created_at.timestamp()), int(datetime.combine(start, time(0), tzinfo=UTC).timestamp()))
            if begin >= now_s:
                continue
            moment = datetime.fromtimestamp(rng.randrange(begin, now_s), UTC)
            provider, model = rng.choice(providers)
            inp = rng.randint(400, 30_000)
            cached = rng.randint(0, inp // 2) if rng.random() < 0.5 and provider != "vllm" else 0
            out = rng.randint(50, 3_000)
            event_id = "evt-" + hashlib.sha1(f"{seed}:{identifier}:{len(calls)}".encode()).hexdigest()[:16]
            call = AgentCall(event_id, moment, rng.choice(AGENTS), provider, model, f"proj_{team_key.lower()}",
                             identifier, inp, cached, out)
            calls.append(call)
            if provider == "openai":
                add("completions", moment.date(), call.project, model, False, inp, cached, out)
    calls.sort(key=lambda c: (c.occurred_at, c.event_id))

    # Background applications of the organization.
    days = [start + timedelta(days=i) for i in range((now.date() - start).days + 1)]
    for day in days:
        fraction = 1.0 if day < now.date() else (now - datetime.combine(day, time(0), tzinfo=UTC)).total_seconds() / DAY_S
        for project_id in projects:
            for model in rng.sample(BACKGROUND_COMPLETION_MODELS, rng.randint(1, 2)):
                requests = max(1, int(rng.randint(20, 400) * fraction))
                inp = requests * rng.randint(300, 2_000)
                add("completions", day, project_id, model, False, inp, rng.randint(0, inp // 3),
                    requests * rng.randint(40, 400), requests)
            if rng.random() < 0.4:
                requests = max(1, int(rng.randint(1, 50) * fraction))
                inp = requests * rng.randint(500, 4_000)
                add("completions", day, project_id, "gpt-4o-mini", True, inp, 0, requests * rng.randint(100, 800), requests)
        requests = max(1, int(rng.randint(100, 2_000) * fraction))
        add("embeddings", day, "proj_platform", EMBEDDING_MODEL, False, requests * rng.randint(50, 600), 0, 0, requests)

    complete = [d for d in days if d < now.date()]
    chosen = rng.sample([(d, p) for d in complete for p in sorted(projects)], 3)
    drifted = {chosen[0]: DRIFT_FACTOR, chosen[1]: DRIFT_FACTOR, chosen[2]: SMALL_DRIFT_FACTOR}

    sample = calls[0] if calls else AgentCall("evt-x", now, AGENTS[0], "openai", "gpt-4.1", "proj_eng", "ENG-1", 1, 0, 1)
    base = sample.line()

    def bad(mutate, reason, suffix):
        line = json.loads(json.dumps(base))
        line["event_id"] = f"evt-bad-{suffix}"
        mutate(line["attributes"])
        return json.dumps(line, sort_keys=True), reason

    bad_lines = [
        bad(lambda a: a.update({"gen_ai.usage.input_tokens": -120}), "negative input_tokens: -120", "negative"),
        bad(lambda a: a.update({"gen_ai.usage.output_tokens": 9_000_000_000}),
            "absurd output_tokens: 9000000000 exceeds the plausible maximum 10000000", "absurd"),
        bad(lambda a: a.update({"gen_ai.usage.cache_read.input_tokens": a["gen_ai.usage.input_tokens"] + 5}),
            "cached_tokens", "cached"),
        bad(lambda a: a.pop("gen_ai.request.model"), "no gen_ai.request.model", "nomodel"),
        ('{"event_id": "evt-bad-json", "attributes": {"gen_ai.usage.input_tokens": 12', "not valid JSON"),
    ]
    return OpenAIOrg(seed=seed, now=now, start=start, projects=projects, agent_calls=calls, usage=usage,
                     drifted=drifted, bad_trace_lines=bad_lines)


def from_world(world) -> OpenAIOrg:
    """The OpenAI organization of a sandbox World (connectors/sandbox/world.py)."""
    tickets = [(t.identifier, t.team_key, t.created_at) for t in world.tickets]
    teams = [key for key, _ in world.teams] if world.teams and isinstance(world.teams[0], tuple) else list(world.teams)
    return generate_openai(world.seed, world.now, world.scale.span_days, tickets, teams)


_ORGS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_ORGS_LOCK = threading.Lock()


def org_for(world) -> OpenAIOrg:
    """The world's OpenAI organization, generated once per World object (the sandbox service and
    the tests share it, so mutations and recorded model calls are visible to both)."""
    with _ORGS_LOCK:
        org = _ORGS.get(world)
        if org is None:
            org = _ORGS[world] = from_world(world)
        return org
