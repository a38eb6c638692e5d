"""What ticket matching reads from the warehouse: units (from staging.match_units) and tickets
(from staging.match_ticket_docs), and the Slack markup it strips before reading text.

Only units that are new or whose text changed since their last decision are loaded: a unit's
fingerprint (md5 of its text, computed in SQL) is compared with ops.match_fingerprints.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import duckdb

from pmflow.matching.text import MAYBE_REFERENCE
from warehouse.models import build_models

MODELS = ["staging.match_units", "staging.match_ticket_docs"]


@dataclass(frozen=True, slots=True)
class Unit:
    workspace_id: str
    source_kind: str  # slack_thread | slack_message | github_pr | github_issue
    source_id: str
    started_at: datetime | None
    opener: str
    text: str
    subtype: str | None
    opener_is_bot: bool
    bot_only: bool
    messages: int
    url: str | None
    container: str | None  # Slack channel id or GitHub repo
    fingerprint: str

    @property
    def is_slack(self) -> bool:
        return self.source_kind.startswith("slack")


@dataclass(frozen=True, slots=True)
class Ticket:
    workspace_id: str
    issue_id: str
    identifier: str
    title: str
    description: str
    comments: str
    team_id: str | None
    team_key: str
    state_type: str | None
    url: str | None
    created_at: datetime | None
    ended_at: datetime | None = None
    """When the ticket was completed or canceled (None while open)."""


def build_match_models(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("SET enable_progress_bar = false")
    build_models(con, MODELS)


def workspaces_with_units(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [row[0] for row in con.execute("SELECT DISTINCT workspace_id FROM staging.match_units ORDER BY 1").fetchall()]


_UNIT_COLUMNS = """u.workspace_id, u.source_kind, u.source_id, u.started_at, u.opener, u.text, u.subtype,
                  u.opener_is_bot, u.bot_only, u.messages, u.url, u.container, u.fingerprint"""


_DECIDED_UNCHANGED = """FROM staging.match_units AS u
        JOIN ops.match_fingerprints AS f ON f.workspace_id = u.workspace_id AND f.source_id = u.source_id
                                        AND f.fingerprint = u.fingerprint
        JOIN marts.ticket_links AS l ON l.workspace_id = u.workspace_id AND l.source_id = u.source_id"""
"""Units (u) with their standing decision (l), decided on their current text."""


def pending_units(con: duckdb.DuckDBPyConnection, workspace_id: str, *, all_units: bool = False) -> list[Unit]:
    """Units of the workspace that are new or changed since their last decision (all with all_units)."""
    changed = "" if all_units else "AND f.fingerprint IS DISTINCT FROM u.fingerprint"
    rows = con.execute(
        f"""
        SELECT {_UNIT_COLUMNS}
        FROM staging.match_units AS u
        LEFT JOIN ops.match_fingerprints AS f
               ON f.workspace_id = u.workspace_id AND f.source_id = u.source_id
        WHERE u.workspace_id = ? {changed}
        ORDER BY u.started_at, u.source_id
        """,
        [workspace_id],
    ).fetchall()
    return [Unit(*row) for row in rows]


def units_citing_something(con: duckdb.DuckDBPyConnection, workspace_id: str) -> list[Unit]:
    """Units decided before, unchanged since and not linked by reference, whose text may hold a
    reference (text.MAYBE_REFERENCE): one naming a ticket or pull request that was not ingested
    yet is re-decided once it is, as a run over everything would link it."""
    rows = con.execute(
        f"""
        SELECT {_UNIT_COLUMNS}
        {_DECIDED_UNCHANGED}
        WHERE u.workspace_id = ? AND l.method <> 'reference' AND regexp_matches(u.text, ?, 'i')
        ORDER BY u.started_at, u.source_id
        """,
        [workspace_id, MAYBE_REFERENCE],
    ).fetchall()
    return [Unit(*row) for row in rows]


def new_tickets(con: duckdb.DuckDBPyConnection, workspace_id: str, ticket_workspace: str) -> list[tuple[str, datetime | None]]:
    """(identifier, created_at) of the tickets no run has yet ranked the workspace's units against."""
    return con.execute(
        """
        SELECT t.identifier, t.created_at
        FROM staging.match_ticket_docs AS t
        WHERE t.workspace_id = ? AND NOT EXISTS (
            SELECT 1 FROM ops.match_seen_tickets AS s WHERE s.workspace_id = ? AND s.identifier = t.identifier)
        ORDER BY t.identifier
        """,
        [ticket_workspace, workspace_id],
    ).fetchall()


def units_to_recheck(con: duckdb.DuckDBPyConnection, workspace_id: str,
                     since: datetime | None) -> list[tuple[Unit, tuple[str, str | None]]]:
    """Units decided by retrieval, unchanged since, that started at or after ``since`` (all when
    None), with their (decision, ticket_id): a ticket filed after them may be theirs (a
    conversation often comes first). References, rules and LLM verdicts stand."""
    rows = con.execute(
        f"""
        SELECT {_UNIT_COLUMNS}, l.decision, l.ticket_id
        {_DECIDED_UNCHANGED}
        WHERE u.workspace_id = ? AND l.method NOT IN ('reference', 'rules', 'llm')
          AND (CAST(? AS TIMESTAMPTZ) IS NULL OR u.started_at >= ?)
        ORDER BY u.started_at, u.source_id
        """,
        [workspace_id, since, since],
    ).fetchall()
    return [(Unit(*row[:-2]), (row[-2], row[-1])) for row in rows]


def github_units(con: duckdb.DuckDBPyConnection, workspace_id: str) -> list[Unit]:
    """Every GitHub pull request and issue of the workspace, changed or not: the tickets they cite
    are inherited by the Slack threads that link them."""
    rows = con.execute(
        f"SELECT {_UNIT_COLUMNS} FROM staging.match_units AS u "
        "WHERE u.workspace_id = ? AND u.source_kind IN ('github_pr', 'github_issue') ORDER BY u.source_id",
        [workspace_id],
    ).fetchall()
    return [Unit(*row) for row in rows]


def unit_openers(con: duckdb.DuckDBPyConnection, workspace_id: str) -> list[str]:
    """The opening text of every unit of the workspace."""
    rows = con.execute("SELECT opener FROM staging.match_units WHERE workspace_id = ? ORDER BY source_id",
                       [workspace_id]).fetchall()
    return [opener for (opener,) in rows]


def reference_texts(con: duckdb.DuckDBPyConnection, workspace_id: str) -> list[tuple[str, str, str]]:
    """(ticket identifier, opener, text) of the units already linked by explicit reference: the
    ticket documents are expanded with them on every run, so incremental runs rank as a full one."""
    return con.execute(
        f"""
        SELECT l.ticket_id, u.opener, u.text
        {_DECIDED_UNCHANGED}
        WHERE u.workspace_id = ? AND l.decision = 'linked' AND l.method = 'reference' AND l.ticket_id IS NOT NULL
        ORDER BY l.source_id
        """,
        [workspace_id],
    ).fetchall()


def load_tickets(con: duckdb.DuckDBPyConnection, workspace_id: str) -> list[Ticket]:
    rows = con.execute(
        """
        SELECT workspace_id, issue_id, identifier, title, description, comments, team_id, team_key,
               state_type, url, created_at, ended_at
        FROM staging.match_ticket_docs WHERE workspace_id = ? ORDER BY created_at, identifier
        """,
        [workspace_id],
    ).fetchall()
    return [Ticket(*row) for row in rows]


# -- Slack markup ------------------------------------------------------------------------------

_LINK = re.compile(r"<((?:https?|mailto):[^|>\s]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<[@#!][^>]*>")
_EMOJI = re.compile(r":[a-z0-9_+'-]+:")
_CODE = re.compile(r"```.*?```", re.DOTALL)


def plain_text(text: str) -> str:
    """Slack mrkdwn as words: links become their label (or URL), mentions and emoji codes go."""
    if not text or ("<" not in text and ":" not in text):
        return text or ""
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    text = _SPECIAL.sub(" ", text)
    return _EMOJI.sub(" ", text)


def without_code(text: str) -> str:
    return _CODE.sub(" ", text) if "```" in text else text
