"""Write-back of matching decisions to Linear: off by default, policy-driven, never twice.

Actions (the complete set; nothing else is ever written):

* ``comment``: a comment on the linked ticket with a link to the Slack thread (``commentCreate``),
  for a `linked` Slack unit whose score reaches ``writeback_min_score`` (references score 1);
* ``triage_ticket``: a ticket for untracked work (``issueCreate``, in the team's triage state when
  it has one), for a `new_work` Slack unit whose score reaches ``writeback_min_score``;
* ``suggest_state``: when a linked thread says the work is done or blocked, a *suggestion* recorded
  in ops.match_actions (and mentioned in that unit's comment); the ticket's state is never changed.

Modes (PMFLOW_MATCH_WRITEBACK): ``off``; ``dry_run`` records the plan (status ``planned``) and
publishes it as an artifact, calling nothing; ``on`` performs it.

Never twice: each (unit, action) has an idempotency key. Before a call, the key is claimed in
ops.match_actions (status ``pending``, with the exact request) in its own transaction; a key
already claimed is skipped, whatever its status. The entity created carries a UUID derived from
the key (Linear accepts a client-chosen ``id``), so a retry of the same call, by the HTTP client or
by the next run recovering a ``pending`` claim, cannot create a second comment or ticket: recovery
first asks Linear whether the entity exists, and re-sends only if it does not.

Chat text is data: the decision (made by the policy above, never by a model) chooses the action
and the ticket; chat text only appears, quoted and stripped of links and mentions, inside the
comment or ticket body.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

import duckdb

from connectors.errors import PermanentError, TransientError
from pmflow.matching.units import build_match_models, plain_text
from pmflow.matching_settings import MatchSettings
from warehouse import Warehouse

log = logging.getLogger(__name__)

ACTIONS = ("comment", "triage_ticket", "suggest_state")
EXTERNAL_ACTIONS = ("comment", "triage_ticket")

COMMENT_CREATE = """
mutation PmflowCommentCreate($input: CommentCreateInput!) {
  commentCreate(input: $input) { success comment { id } }
}
"""
ISSUE_CREATE = """
mutation PmflowIssueCreate($input: IssueCreateInput!) {
  issueCreate(input: $input) { success issue { id identifier } }
}
"""
COMMENT_EXISTS = """
query PmflowCommentExists($id: String!) { comment(id: $id) { id } }
"""
ISSUE_EXISTS = """
query PmflowIssueExists($id: String!) { issue(id: $id) { id identifier } }
"""

DONE_CUES = re.compile(
    r"\b(fix(ed)? is out|fixed in|is fixed|has been fixed|shipped|merged|deployed the fix|resolved|"
    r"closing the loop|should be good now|this is done|it'?s done|all done|works now)\b", re.IGNORECASE)
BLOCKED_CUES = re.compile(r"\b(blocked (on|by)|is blocked|waiting (on|for) (the )?\w+ (team|review|deploy|release))\b",
                          re.IGNORECASE)
_URLISH = re.compile(r"https?://\S+|<[^>]*>|[\[\]()`*_~#>|]")


@dataclass
class Action:
    workspace_id: str
    key: str
    action: str
    source_kind: str
    source_id: str
    ticket_id: str | None  # identifier of the ticket commented on / suggested for
    score: float
    request: dict = field(default_factory=dict)
    """What is sent: {"issueId", "body"} for a comment; {"teamId", "title", "description",
    "stateId"?} for a triage ticket; {"state", "evidence"} for a suggestion."""

    @property
    def entity_id(self) -> str:
        return entity_uuid(self.key)


def idempotency_key(workspace_id: str, action: str, source_id: str) -> str:
    return hashlib.sha256(f"{workspace_id}\x1f{action}\x1f{source_id}".encode()).hexdigest()


def entity_uuid(key: str) -> str:
    """A UUID v4-format id derived from the key: the same action always creates the same entity."""
    return str(uuid.UUID(bytes=hashlib.sha256(f"pmflow:{key}".encode()).digest()[:16], version=4))


def quote(text: str, limit: int = 200) -> str:
    """Chat text as an inert quotation: no links, mentions or markdown, one line, truncated."""
    flat = " ".join(_URLISH.sub(" ", plain_text(text or "")).split())
    return flat[:limit] + ("…" if len(flat) > limit else "")


def state_suggestion(text: str) -> tuple[str, str] | None:
    """("done" | "blocked", evidence) when the thread says so."""
    for state, cue in (("done", DONE_CUES), ("blocked", BLOCKED_CUES)):
        match = cue.search(plain_text(text or ""))
        if match:
            return state, match.group(0)
    return None


# -- planning --------------------------------------------------------------------------------------


def plan_actions(con: duckdb.DuckDBPyConnection, workspace_id: str, settings: MatchSettings, *,
                 now: datetime | None = None) -> list[Action]:
    """The actions the policy allows for the workspace's current decisions that have no ledger
    entry yet (a `planned` entry, left by a dry run, is planned again)."""
    now = now or datetime.now(UTC)
    since = now - timedelta(days=settings.writeback_since_days)
    build_match_models(con)
    rows = con.execute(
        """
        SELECT l.source_kind, l.source_id, l.decision, l.ticket_id, l.issue_id, l.score, l.method, l.candidates,
               u.opener, u.text, u.url
        FROM marts.ticket_links AS l
        JOIN staging.match_units AS u ON u.workspace_id = l.workspace_id AND u.source_id = l.source_id
        WHERE l.workspace_id = ? AND l.source_kind IN ('slack_thread', 'slack_message')
          AND l.decision IN ('linked', 'new_work') AND l.score >= ? AND u.started_at >= ?
        ORDER BY u.started_at, l.source_id
        """,
        [workspace_id, settings.writeback_min_score, since],
    ).fetchall()
    taken = {key for (key,) in con.execute(
        "SELECT idempotency_key FROM ops.match_actions WHERE workspace_id = ? AND status <> 'planned'", [workspace_id]
    ).fetchall()}
    teams = _teams(con, workspace_id, settings)
    actions: list[Action] = []
    for kind, source_id, decision, ticket_id, issue_id, score, method, candidates, opener, text, url in rows:
        if decision == "linked" and issue_id:
            suggestion = state_suggestion(text)
            if suggestion:
                key = idempotency_key(workspace_id, "suggest_state", source_id)
                if key not in taken:
                    actions.append(Action(workspace_id, key, "suggest_state", kind, source_id, ticket_id, score,
                                          {"state": suggestion[0], "evidence": suggestion[1]}))
            key = idempotency_key(workspace_id, "comment", source_id)
            if key not in taken:
                body = _comment_body(url, opener, method, score, suggestion)
                actions.append(Action(workspace_id, key, "comment", kind, source_id, ticket_id, score,
                                      {"issueId": issue_id, "body": body}))
        elif decision == "new_work":
            key = idempotency_key(workspace_id, "triage_ticket", source_id)
            team = _triage_team(candidates, teams, settings)
            if key not in taken and team is not None:
                request = {"teamId": team["team_id"], "title": _triage_title(opener or text),
                           "description": _triage_description(url, opener or text, score)}
                if team.get("triage_state_id"):
                    request["stateId"] = team["triage_state_id"]
                actions.append(Action(workspace_id, key, "triage_ticket", kind, source_id, None, score, request))
    return actions


def _comment_body(url: str | None, opener: str, method: str, score: float, suggestion) -> str:
    lines = [f"Discussed in Slack: [thread]({url})" if url else "Discussed in Slack.",
             f"> {quote(opener)}" if quote(opener) else "",
             f"_Linked by pmflow ticket matching ({method}, confidence {score:.2f})._"]
    if suggestion:
        lines.append(f"The thread suggests this work is **{suggestion[0]}** (\"{quote(suggestion[1], 60)}\"); "
                     "pmflow never changes the state itself.")
    return "\n\n".join(line for line in lines if line)


def _triage_title(text: str) -> str:
    first = quote(text, 80) or "Untracked work"
    return f"Triage (from Slack): {first}"


def _triage_description(url: str | None, text: str, score: float) -> str:
    return "\n\n".join([
        f"Work discussed in Slack with no ticket: [thread]({url})" if url else "Work discussed in Slack with no ticket.",
        f"> {quote(text, 400)}",
        f"_Created by pmflow ticket matching (new work, confidence {score:.2f}). Please triage._",
    ])


def _teams(con, workspace_id: str, settings: MatchSettings) -> dict[str, dict]:
    """team key -> {"team_id", "triage_state_id"}; also the ticket identifier -> team mapping."""
    ticket_workspace = settings.ticket_workspace or workspace_id
    teams = {key: {"team_id": team_id, "triage_state_id": state_id} for key, team_id, state_id in con.execute(
        """
        SELECT t.key, t.team_id, min(s.state_id) FILTER (WHERE s.type = 'triage')
        FROM core.linear_teams t LEFT JOIN core.linear_states s ON s.workspace_id = t.workspace_id AND s.team_id = t.team_id
        WHERE t.workspace_id = ? GROUP BY t.key, t.team_id
        """, [ticket_workspace]).fetchall()}
    return teams


def _triage_team(candidates, teams: dict[str, dict], settings: MatchSettings) -> dict | None:
    if settings.triage_team:
        return teams.get(settings.triage_team)
    try:
        best = json.loads(candidates)[0]["ticket_id"] if candidates else None
    except (ValueError, IndexError, KeyError, TypeError):
        best = None
    return teams.get(best.split("-")[0]) if best else None


# -- the ledger ------------------------------------------------------------------------------------


def record_plan(wh: Warehouse, actions: list[Action]) -> None:
    """Dry run: store the plan (status planned) where no entry exists; calls nothing."""
    _insert(wh, actions, "planned")


def _insert(wh: Warehouse, actions: list[Action], status: str) -> set[str]:
    """Inserts rows for keys that have none (or only a planned one, which becomes `status`);
    returns the keys this call claimed. One transaction: two runs cannot claim the same key."""
    if not actions:
        return set()
    now = datetime.now(UTC)
    claimed: set[str] = set()
    with wh.connect() as con:
        con.execute("BEGIN TRANSACTION")
        try:
            for a in actions:
                existing = con.execute(
                    "SELECT status FROM ops.match_actions WHERE workspace_id = ? AND idempotency_key = ?",
                    [a.workspace_id, a.key]).fetchone()
                if existing is not None and (existing[0] != "planned" or status == "planned"):
                    continue
                if existing is not None:
                    con.execute("DELETE FROM ops.match_actions WHERE workspace_id = ? AND idempotency_key = ?",
                                [a.workspace_id, a.key])
                con.execute(
                    "INSERT INTO ops.match_actions VALUES (?, ?, ?, ?, ?, ?, ?, ?::JSON, NULL, NULL, ?, ?, ?)",
                    [a.workspace_id, a.key, a.action, a.source_kind, a.source_id, a.ticket_id, status,
                     json.dumps({"request": a.request, "entity_id": a.entity_id, "score": a.score}),
                     0 if status == "planned" else 1, now, now])
                claimed.add(a.key)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return claimed


def _finish(wh: Warehouse, workspace_id: str, key: str, status: str, *, result_id: str | None = None,
            error: str | None = None, attempt: bool = False) -> None:
    with wh.connect() as con:
        con.execute(
            "UPDATE ops.match_actions SET status = ?, result_id = coalesce(?, result_id), error = ?, "
            "attempts = attempts + ?, updated_at = now() WHERE workspace_id = ? AND idempotency_key = ?",
            [status, result_id, error, 1 if attempt else 0, workspace_id, key])


# -- execution -------------------------------------------------------------------------------------


@dataclass
class WritebackReport:
    mode: str
    planned: list[dict] = field(default_factory=list)
    done: int = 0
    failed: int = 0
    pending: int = 0
    suggested: int = 0
    recovered: int = 0
    skipped_over_cap: int = 0


def write_back(wh: Warehouse, workspace_id: str, settings: MatchSettings, client=None, *,
               mode: str | None = None, now: datetime | None = None) -> WritebackReport:
    """Plans the workspace's actions and, by mode, records (dry_run) or performs (on) them."""
    mode = mode or settings.writeback
    report = WritebackReport(mode)
    if mode == "off":
        return report
    with wh.connect() as con:
        actions = plan_actions(con, workspace_id, settings, now=now)
    report.planned = [_summary(a) for a in actions]
    if mode == "dry_run":
        record_plan(wh, actions)
        return report
    if client is None:
        raise PermanentError("PMFLOW_MATCH_WRITEBACK=on needs LINEAR_API_KEY (write-back talks to Linear).")
    report.recovered = recover_pending(wh, workspace_id, client)
    suggestions = [a for a in actions if a.action == "suggest_state"]
    report.suggested = len(_insert(wh, suggestions, "suggested"))
    external = [a for a in actions if a.action in EXTERNAL_ACTIONS]
    report.skipped_over_cap = max(0, len(external) - settings.max_actions_per_run)
    for action in external[: settings.max_actions_per_run]:
        if action.key not in _insert(wh, [action], "pending"):
            continue  # another run claimed it
        status = _perform(wh, client, action.workspace_id, action.key, action.action, action.request, action.entity_id)
        setattr(report, status, getattr(report, status) + 1)
    return report


def recover_pending(wh: Warehouse, workspace_id: str, client) -> int:
    """Claims left `pending` by an interrupted run: done if Linear has the entity, else re-sent
    with the same entity id. Returns how many were settled."""
    with wh.connect() as con:
        rows = con.execute(
            "SELECT idempotency_key, action, detail FROM ops.match_actions WHERE workspace_id = ? AND status = 'pending'",
            [workspace_id]).fetchall()
    settled = 0
    for key, action, detail in rows:
        detail = json.loads(detail) if isinstance(detail, str) else detail
        entity_id = detail["entity_id"]
        try:
            exists = _exists(client, action, entity_id)
        except (TransientError, PermanentError) as exc:
            log.warning("write-back %s %s: cannot check whether it exists yet (%s); left pending", action, key[:12], exc)
            continue
        if exists:
            _finish(wh, workspace_id, key, "done", result_id=exists)
            settled += 1
        elif _perform(wh, client, workspace_id, key, action, detail["request"], entity_id) != "pending":
            settled += 1
    return settled


def _perform(wh: Warehouse, client, workspace_id: str, key: str, action: str, request: dict, entity_id: str) -> str:
    """One external call; returns the resulting status (done, failed, pending)."""
    try:
        if action == "comment":
            data = client.execute(COMMENT_CREATE, {"input": {"id": entity_id, "doNotSubscribeToIssue": True, **request}},
                                  "PmflowCommentCreate")
            result = ((data.get("commentCreate") or {}).get("comment") or {}).get("id")
        elif action == "triage_ticket":
            data = client.execute(ISSUE_CREATE, {"input": {"id": entity_id, **request}}, "PmflowIssueCreate")
            issue = (data.get("issueCreate") or {}).get("issue") or {}
            result = issue.get("identifier") or issue.get("id")
        else:  # the policy has no other external action
            raise PermanentError(f"unknown write-back action {action!r}")
    except TransientError as exc:
        _finish(wh, workspace_id, key, "pending", error=str(exc)[:500], attempt=True)
        return "pending"
    except PermanentError as exc:
        existing = _exists_quietly(client, action, entity_id)
        if existing:  # a retry of a call that had already succeeded
            _finish(wh, workspace_id, key, "done", result_id=existing, attempt=True)
            return "done"
        _finish(wh, workspace_id, key, "failed", error=str(exc)[:500], attempt=True)
        return "failed"
    _finish(wh, workspace_id, key, "done", result_id=result or entity_id, attempt=True)
    return "done"


def _exists(client, action: str, entity_id: str) -> str | None:
    """The entity's id (or identifier) when Linear has it, None when it does not."""
    document, field_name, operation = (
        (COMMENT_EXISTS, "comment", "PmflowCommentExists") if action == "comment"
        else (ISSUE_EXISTS, "issue", "PmflowIssueExists"))
    try:
        data = client.execute(document, {"id": entity_id}, operation)
    except PermanentError as exc:
        if "not found" in str(exc).lower():
            return None
        raise
    found = data.get(field_name)
    return (found.get("identifier") or found.get("id")) if found else None


def _exists_quietly(client, action: str, entity_id: str) -> str | None:
    try:
        return _exists(client, action, entity_id)
    except (TransientError, PermanentError):
        return None


def _summary(action: Action) -> dict:
    data = asdict(action)
    request = data.pop("request")
    data.pop("workspace_id")
    data["key"] = action.key[:16]
    data["detail"] = request.get("title") or request.get("state") or request.get("body", "")[:120]
    return data
