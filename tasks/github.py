"""GitHub ingestion tasks: per repository, issues, pull requests, reviews, timelines and comments.

How a repository stays incremental (cursors in ops.sync_state, partition = the repository):
1. issues: ``/issues?state=all&sort=updated&direction=desc&since=<cursor>``. The issues and PRs it
   lists are compared with the updated_at stored for them: changed plain issues are stored, and the
   changed PRs (marked by ``pull_request``) are the ones fetched in 2 and 3.
2. pulls: only when a PR changed, ``/pulls?state=all&sort=updated&direction=desc``, stopping once
   every changed PR was seen (they changed last, so they lead); a PR the listing missed is fetched
   alone.
3. reviews and timeline (-> events, and the PR's first_commit_at) of the changed PRs only, fetched
   ``concurrency`` at a time. A PR's row is written after its reviews and events, so a stored
   updated_at vouches for all of them (a crash in between re-fetches the PR next run).
4. comments: ``/issues/comments`` and ``/pulls/comments`` with ``since`` = their own cursors (an
   edited comment moves its own updated_at, not its issue's), compared with the stored versions.
Every request goes through the conditional-request cache (ops.http_cache): a URL answered before is
sent with its ETag, and a 304 (free of rate limit) means its rows are stored. A cursor stays put
while its listing fits in half a page, so a repository with no new change is asked the very same
URLs as last time and answers 304s only; it moves up (to the newest updated_at) once the listing
grows past that, which costs the next run one 200. A full sync (no cursor yet) ends each listing
by asking for it once at its new cursor, so even the first run after it can be all 304s.

Writes: rows in batches of ``batch_rows``, one stream per transaction; a cursor moves only in its
stream's last transaction, after the rows it covers, and the ETag cache is written last, so a crash
anywhere re-reads what it must and the idempotent merge lands where one clean run would. Two
versions of a record updated within the same second are the one change this cannot tell apart
(GitHub timestamps have one-second resolution).
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable
from typing import Any
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa
from prefect import task

from connectors.errors import PermanentError
from connectors.github import (
    CachedResponse,
    GitHubClient,
    Page,
    change_of,
    first_commit_at,
    is_pull_request,
    iso,
    parse_comment,
    parse_issue,
    parse_pull,
    parse_records,
    parse_review,
    parse_timeline_event,
)
from connectors.records import Parsed
from pmflow.settings import GitHubSettings, github_settings
from tasks.common import TRANSIENT_RETRIES, current_run_id, warehouse
from warehouse import Batch, LoadCounts, Warehouse

SOURCE = "github"
STREAMS = ("issues", "pulls", "reviews", "events", "comments")
TABLES = {"issues": "core.github_issues", "pulls": "core.github_pull_requests", "reviews": "core.github_reviews",
          "events": "core.github_pr_events", "comments": "core.github_comments"}


def github_client(settings: GitHubSettings | None = None, cache=None) -> GitHubClient:
    settings = settings or github_settings()
    token = settings.token.get_secret_value() if settings.token else ""
    return GitHubClient(token, settings.api_url, per_page=settings.per_page, timeout_s=settings.timeout_s,
                        max_retries=settings.max_retries, cache=cache, cache_bodies=False,
                        max_rate_limit_wait_s=settings.max_rate_limit_wait_s)


@task(**TRANSIENT_RETRIES)
def resolve_github_repos() -> tuple[str, list[str]]:
    """(workspace_id, repositories) from GITHUB_REPOS and GITHUB_WORKSPACE_ID."""
    settings = github_settings()
    if not settings.repo_list:
        raise PermanentError("GITHUB_REPOS is not set: list the repositories to ingest as owner/name, comma-separated.")
    if not settings.token:
        raise PermanentError("GITHUB_TOKEN is not set: pmflow needs a token to read GitHub.")
    return settings.tenant, settings.repo_list


@task(**TRANSIENT_RETRIES, tags=["github-api"])
def sync_github_repo(workspace_id: str, repo: str) -> dict[str, LoadCounts]:
    """One repository, incrementally; returns LoadCounts per stream ("github.pulls", ...)."""
    settings, wh = github_settings(), warehouse()
    cache = WarehouseHttpCache(wh, workspace_id)
    with github_client(settings, cache) as client:
        return sync_repo(client, wh, workspace_id, repo, cache=cache, batch_rows=settings.batch_rows,
                         concurrency=settings.concurrency, run_id=current_run_id())


def github_configured() -> bool:
    settings = github_settings()
    return bool(settings.repo_list and settings.token)


def merge_counts(per_repo: Iterable[dict[str, LoadCounts]]) -> dict[str, LoadCounts]:
    """Sums per-repository counts into one LoadCounts per stream."""
    total: dict[str, LoadCounts] = {}
    for counts in per_repo:
        for stream, c in counts.items():
            total[stream] = total.get(stream, LoadCounts()) + c
    return total


# -- the conditional-request cache, kept in the warehouse ----------------------------------------


class WarehouseHttpCache:
    """connectors.github.HttpCache over ops.http_cache: ETag and Link header per URL, no body (use
    the client with ``cache_bodies=False``). Entries are loaded per listing or PR before its requests
    (``load``) and held in memory for the client's threads; new ones are written back in bulk
    (``flush``) only after the rows of their answers are in the warehouse, so a stored ETag always
    stands for stored rows and a 304 is answered from them: nothing to write."""

    def __init__(self, wh: Warehouse, workspace_id: str, source: str = SOURCE):
        self.wh, self.workspace_id, self.source = wh, workspace_id, source
        self._entries: dict[str, CachedResponse] = {}
        self._pending: dict[str, CachedResponse] = {}
        self._prunes: list[tuple[str, str | None]] = []
        self._lock = threading.Lock()

    def get(self, url: str) -> CachedResponse | None:
        with self._lock:
            return self._entries.get(url)

    def put(self, url: str, response: CachedResponse) -> None:
        with self._lock:
            self._entries[url] = response
            self._pending[url] = response

    def load(self, first_pages: list[str], con=None) -> None:
        """Loads the stored entries of these listings: their first-page URLs and the pages after them
        (on ``con`` when given, else on a connection of its own)."""
        if not first_pages:
            return
        sql = """SELECT url, etag, link FROM ops.http_cache
                 WHERE workspace_id = ? AND source = ?
                   AND regexp_replace(url, '[?&]page=\\d+$', '') IN (SELECT unnest(?::VARCHAR[]))"""
        params = [self.workspace_id, self.source, list(first_pages)]
        rows = con.execute(sql, params).fetchall() if con is not None else self.wh.query(sql, params)
        with self._lock:
            for url, etag, link in rows:
                self._entries.setdefault(url, CachedResponse(etag, None, link))

    def prune(self, scope: str, keep: str | None) -> None:
        """At the next flush, forget the entries under the URL prefix ``scope`` except those under
        ``keep`` (a listing at an old cursor is never asked again)."""
        with self._lock:
            self._prunes.append((scope, keep))
            for url in [u for u in self._pending if u.startswith(scope) and not (keep and u.startswith(keep))]:
                del self._pending[url]

    def flush(self) -> None:
        """Writes the new entries and applies the prunes, in one transaction. Call it only once the
        rows of every answer received so far are written."""
        with self._lock:
            pending, self._pending = self._pending, {}
            prunes, self._prunes = self._prunes, []
        if not pending and not prunes:
            return
        data = pa.table({"url": pa.array(list(pending), pa.string()),
                         "etag": pa.array([r.etag for r in pending.values()], pa.string()),
                         "link": pa.array([r.link for r in pending.values()], pa.string())})
        with self.wh.connect() as con:
            con.register("_pmflow_http_cache", data)
            try:
                con.execute("BEGIN TRANSACTION")
                for scope, keep in prunes:
                    sql = "DELETE FROM ops.http_cache WHERE workspace_id = ? AND source = ? AND starts_with(url, ?)"
                    params = [self.workspace_id, self.source, scope]
                    if keep:
                        sql, params = sql + " AND NOT starts_with(url, ?)", params + [keep]
                    con.execute(sql, params)
                if pending:
                    con.execute("DELETE FROM ops.http_cache WHERE workspace_id = ? AND source = ? "
                                "AND url IN (SELECT url FROM _pmflow_http_cache)", [self.workspace_id, self.source])
                    con.execute("INSERT INTO ops.http_cache SELECT ?, ?, url, etag, link, now() "
                                "FROM _pmflow_http_cache", [self.workspace_id, self.source])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            finally:
                con.unregister("_pmflow_http_cache")


# -- one repository (plain functions, testable without Prefect) ----------------------------------


def sync_repo(
    client: GitHubClient,
    wh: Warehouse,
    workspace_id: str,
    repo: str,
    *,
    cache: WarehouseHttpCache | None = None,
    batch_rows: int = 5000,
    concurrency: int = 8,
    run_id: str | None = None,
    streams: Iterable[str] = STREAMS,
) -> dict[str, LoadCounts]:
    """Syncs one repository; returns LoadCounts per stream, keyed "github.<stream>"."""
    streams = tuple(streams)
    unknown = set(streams) - set(STREAMS)
    if unknown:
        raise ValueError(f"unknown GitHub streams {sorted(unknown)}; known: {STREAMS}")
    return _RepoSync(client, wh, workspace_id, repo, cache, batch_rows, concurrency, run_id, streams).run()


@dataclass
class _Pending:
    raw: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    rejected: list = field(default_factory=list)


class _RepoSync:
    def __init__(self, client: GitHubClient, wh: Warehouse, workspace_id: str, repo: str,
                 cache: WarehouseHttpCache | None, batch_rows: int, concurrency: int, run_id: str | None,
                 streams: tuple[str, ...]):
        self.client, self.wh, self.workspace_id, self.repo = client, wh, workspace_id, repo
        self.cache, self.batch_rows, self.concurrency, self.run_id = cache, batch_rows, max(1, concurrency), run_id
        self.streams = streams
        self.counts = {f"{SOURCE}.{s}": LoadCounts() for s in streams}
        self.pending: dict[tuple[str, str], _Pending] = {}

    def run(self) -> dict[str, LoadCounts]:
        with self.wh.connect() as con:  # cursors, and the cache entries of the listings they lead to
            self.cursors = self._read_cursors(con)
            if self.cache is not None:
                self.cache.load([self._issues_url(self.cursors.get(("issues", self.repo))),
                                 *(self._comments_url(kind, self.cursors.get(("comments", f"{self.repo}#{kind}")))
                                   for kind in ("issue", "review"))], con)
        if {"issues", "pulls", "reviews", "events"} & set(self.streams):
            self.sync_issues_and_pulls()
        if "comments" in self.streams:
            self.sync_comments("issue")
            self.sync_comments("review")
        if self.cache is not None:  # every answer is written now: its entries may follow
            self.cache.prune(self.client.url(f"/repos/{self.repo}/pulls") + "?", None)
            self.cache.flush()
        return self.counts

    def _read_cursors(self, con) -> dict[tuple[str, str], str]:
        rows = con.execute(
            "SELECT stream, partition_key, cursor FROM ops.sync_state WHERE workspace_id = ? AND source = ? "
            "AND partition_key IN (?, ?, ?)",
            [self.workspace_id, SOURCE, self.repo, f"{self.repo}#issue", f"{self.repo}#review"]).fetchall()
        return {(stream, partition): cursor for stream, partition, cursor in rows}

    # -- issues and pull requests --------------------------------------------------------------

    def sync_issues_and_pulls(self) -> None:
        cursor = self.cursors.get(("issues", self.repo))
        candidates: dict[int, datetime] = {}
        if cursor is None:  # full: every page as it comes, then once more at the new cursor
            seen: set[str] = set()
            newest = self._read_issues(None, candidates, seen)
            new_cursor = iso(newest) if newest else None
            if new_cursor:  # the next run's request, so that it can be a 304
                self._read_issues(new_cursor, candidates, seen, skip_seen=True)
            changed = sorted(candidates)
        else:
            changed, new_cursor = self._issues_window(cursor)
        if changed and {"pulls", "reviews", "events"} & set(self.streams):
            self._read_pull_details(self._read_pulls(changed), full=cursor is None)
        for stream in ("reviews", "events", "pulls"):  # a PR row is written after its reviews and events
            self._flush(stream, self.repo)
        self._flush("issues", self.repo, cursor=new_cursor if new_cursor != cursor else None)
        if self.cache is not None:
            self.cache.prune(self.client.url(f"/repos/{self.repo}/issues") + "?",
                             self._issues_url(new_cursor) if new_cursor else None)

    def _issues_url(self, since: str | None) -> str:
        return self.client.url(f"/repos/{self.repo}/issues", {"state": "all", "sort": "updated", "direction": "desc",
                                                               "per_page": self.client.per_page, "since": since})

    def _read_issues(self, since: str | None, candidates: dict[int, datetime], seen: set[str], *,
                     skip_seen: bool = False) -> datetime | None:
        """A full listing (page by page); returns the newest updated_at."""
        newest = None
        for page in self.client.issues(self.repo, since=since):
            plain = []
            for item in _unseen(page.items, seen, skip_seen):
                change = change_of(item)
                if change is not None:
                    newest = max(newest or change[1], change[1])
                if is_pull_request(item):
                    if change is not None:
                        candidates[change[0]] = change[1]
                else:
                    plain.append(item)
            if "issues" in self.streams:
                self._add("issues", self.repo, parse_records(plain, parse_issue, self._thread_key,
                                                             workspace_id=self.workspace_id, repo=self.repo))
        return newest

    def _issues_window(self, cursor: str) -> tuple[list[int], str]:
        """The listing at the cursor: (PRs that changed, the cursor for the next run). The cursor stays
        put while the listing fits in half a page, so that a repository with no new change is asked
        the very same URL again and answers 304; it moves up once the listing grows past that."""
        items = [item for page in self.client.issues(self.repo, since=cursor) if not page.not_modified
                 for item in page.items]
        if not items:  # 304: nothing changed since the answer whose rows are stored
            return [], cursor
        changes = {}
        for item in items:
            change = change_of(item)
            if change is not None:
                changes[("pull" if is_pull_request(item) else "issue", change[0])] = change[1]
        stored = self._stored_versions(changes)
        if "issues" in self.streams:
            plain = [item for item in items if not is_pull_request(item)
                     and ((change := change_of(item)) is None or stored.get(("issue", change[0])) != change[1])]
            self._add("issues", self.repo, parse_records(plain, parse_issue, self._thread_key,
                                                         workspace_id=self.workspace_id, repo=self.repo))
        changed = sorted(n for (kind, n), updated in changes.items()
                         if kind == "pull" and stored.get(("pull", n)) != updated)
        advance = len(items) > self.client.per_page // 2 and changes
        return changed, iso(max(changes.values())) if advance else cursor

    def _stored_versions(self, changes: dict[tuple[str, int], datetime]) -> dict[tuple[str, int], datetime]:
        """(kind, number) -> updated_at as stored, for the issues and PRs of a listing. A PR's row is
        written after its reviews and events, so a stored updated_at means all of it is stored."""
        pulls = [n for kind, n in changes if kind == "pull"]
        issues = [n for kind, n in changes if kind == "issue"]
        rows = self.wh.query(
            "SELECT 'pull', number, updated_at FROM core.github_pull_requests WHERE workspace_id = ? AND repo = ? "
            "AND number IN (SELECT unnest(?::INTEGER[])) UNION ALL "
            "SELECT 'issue', number, updated_at FROM core.github_issues WHERE workspace_id = ? AND repo = ? "
            "AND number IN (SELECT unnest(?::INTEGER[]))",
            [self.workspace_id, self.repo, pulls, self.workspace_id, self.repo, issues])
        return {(kind, number): updated for kind, number, updated in rows}

    def _read_pulls(self, changed: list[int]) -> list[dict]:
        """The changed PRs' rows (not yet written: first_commit_at comes from their timelines). They
        changed last, so they lead the listing by updated_at: it stops once all were seen."""
        wanted, seen, rows = set(changed), set(), {}
        per_page = min(self.client.per_page, len(wanted) + 2)
        if len(wanted) > self.client.per_page // 2:
            per_page = self.client.per_page
        for page in self.client.pulls(self.repo, per_page=per_page):
            keep = [item for item in page.items if _listed_number(item) in wanted]
            seen |= {item["number"] for item in keep}
            self._collect_pulls(keep, rows)
            if wanted <= seen:
                break
        for number in sorted(wanted - seen):  # changed after the listing was served, or not listed
            pull = self.client.pull(self.repo, number)
            if pull is not None:
                self._collect_pulls([pull], rows)
        return list(rows.values())

    def _collect_pulls(self, items: list, rows: dict[int, dict]) -> None:
        parsed = parse_records(items, parse_pull, self._thread_key, workspace_id=self.workspace_id, repo=self.repo)
        if "pulls" in self.streams:
            self._add("pulls", self.repo, Parsed(raw=parsed.raw, rejected=parsed.rejected))
        for row in parsed.rows:
            rows[row["number"]] = row

    def _read_pull_details(self, pulls: list[dict], *, full: bool) -> None:
        """Reviews and timeline of each changed PR, then the PR rows with their first_commit_at."""
        details = {"reviews", "events"} & set(self.streams)
        numbers = [row["number"] for row in pulls]
        if details and numbers:
            if self.cache is not None and not full:  # a full sync finds none worth a query
                self.cache.load([url for n in numbers for url in self._detail_urls(n)])
            pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="github")
            try:
                futures = [pool.submit(self._fetch_details, n) for n in numbers]
                first_commits = {}
                for future in as_completed(futures):
                    number, reviews, events = future.result()
                    if "reviews" in self.streams:
                        self._add("reviews", self.repo, parse_records(
                            _fresh(reviews), parse_review, self._review_key, workspace_id=self.workspace_id,
                            repo=self.repo, pr_number=number))
                    if "events" in self.streams:
                        fresh = parse_records(_fresh(events), parse_timeline_event, self._event_key,
                                              workspace_id=self.workspace_id, repo=self.repo, number=number)
                        self._add("events", self.repo, fresh)
                        # The timeline is chronological: a fresh first page holds the first commit. When it
                        # was a 304, the stored first_commit_at stands (the row leaves the column out).
                        first = first_commit_at(fresh.rows)
                        if events and not events[0].not_modified and (
                                first is not None or not any(page.not_modified for page in events)):
                            first_commits[number] = first
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
            pool.shutdown(wait=True)
            for row in pulls:
                if row["number"] in first_commits:
                    row["first_commit_at"] = first_commits[row["number"]]
        if "pulls" in self.streams:
            self._flush("reviews", self.repo)
            self._flush("events", self.repo)
            self._add("pulls", self.repo, Parsed(rows=pulls))
            self._flush("pulls", self.repo)

    def _detail_urls(self, number: int) -> list[str]:
        urls = []
        if "reviews" in self.streams:
            urls.append(self.client.url(f"/repos/{self.repo}/pulls/{number}/reviews", {"per_page": self.client.per_page}))
        if "events" in self.streams:
            urls.append(self.client.url(f"/repos/{self.repo}/issues/{number}/timeline", {"per_page": self.client.per_page}))
        return urls

    def _fetch_details(self, number: int) -> tuple[int, list[Page], list[Page]]:
        reviews = list(self.client.reviews(self.repo, number)) if "reviews" in self.streams else []
        events = list(self.client.timeline(self.repo, number)) if "events" in self.streams else []
        return number, reviews, events

    # -- comments ------------------------------------------------------------------------------

    def sync_comments(self, kind: str) -> None:
        """Comments at the cursor: like the issues listing, a cursor that stays put while the listing
        fits in half a page (so an unchanged repository answers 304), stored versions compared."""
        partition = f"{self.repo}#{kind}"
        cursor = self.cursors.get(("comments", partition))
        if cursor is None:
            seen: set[str] = set()
            newest = self._read_comments(kind, None, seen)
            new_cursor = iso(newest) if newest else None
            if new_cursor:
                self._read_comments(kind, new_cursor, seen, skip_seen=True)
        else:
            new_cursor = self._comments_window(kind, cursor)
        self._flush("comments", partition, cursor=new_cursor if new_cursor != cursor else None)
        if self.cache is not None:
            path = "issues/comments" if kind == "issue" else "pulls/comments"
            self.cache.prune(self.client.url(f"/repos/{self.repo}/{path}") + "?",
                             self._comments_url(kind, new_cursor) if new_cursor else None)

    def _comments_url(self, kind: str, since: str | None) -> str:
        path = "issues/comments" if kind == "issue" else "pulls/comments"
        return self.client.url(f"/repos/{self.repo}/{path}", {"sort": "updated", "direction": "desc",
                                                              "per_page": self.client.per_page, "since": since})

    def _listing(self, kind: str):
        return self.client.issue_comments if kind == "issue" else self.client.review_comments

    def _read_comments(self, kind: str, since: str | None, seen: set[str], *, skip_seen: bool = False) -> datetime | None:
        """A full listing (page by page); returns the newest updated_at."""
        newest = None
        for page in self._listing(kind)(self.repo, since=since):
            parsed = parse_records(_unseen(page.items, seen, skip_seen), parse_comment, self._comment_key,
                                   workspace_id=self.workspace_id, repo=self.repo, kind=kind)
            for row in parsed.rows:
                moment = row["updated_at"] or row["created_at"]
                newest = max(newest or moment, moment)
            self._add("comments", f"{self.repo}#{kind}", parsed)
        return newest

    def _comments_window(self, kind: str, cursor: str) -> str:
        items = [item for page in self._listing(kind)(self.repo, since=cursor) if not page.not_modified
                 for item in page.items]
        if not items:
            return cursor
        parsed = parse_records(items, parse_comment, self._comment_key, workspace_id=self.workspace_id,
                               repo=self.repo, kind=kind)
        stored = {(kind_, comment_id): updated for kind_, comment_id, updated in self.wh.query(
            "SELECT kind, comment_id, updated_at FROM core.github_comments WHERE workspace_id = ? AND repo = ? "
            "AND kind = ? AND comment_id IN (SELECT unnest(?::BIGINT[]))",
            [self.workspace_id, self.repo, kind, [r["comment_id"] for r in parsed.rows]])}
        fresh = Parsed(rejected=parsed.rejected)
        for row, raw in zip(parsed.rows, parsed.raw):
            if stored.get((kind, row["comment_id"])) != row["updated_at"]:
                fresh.rows.append(row)
                fresh.raw.append(raw)
        self._add("comments", f"{self.repo}#{kind}", fresh)
        moments = [r["updated_at"] or r["created_at"] for r in parsed.rows]
        advance = len(items) > self.client.per_page // 2 and moments
        return iso(max(moments)) if advance else cursor

    # -- batching ------------------------------------------------------------------------------

    def _add(self, stream: str, partition: str, parsed: Parsed) -> None:
        pending = self.pending.setdefault((stream, partition), _Pending())
        pending.raw += parsed.raw
        pending.rows += parsed.rows
        pending.rejected += parsed.rejected
        if len(pending.rows) >= self.batch_rows:
            self._flush(stream, partition)

    def _flush(self, stream: str, partition: str, *, cursor: str | None = None) -> None:
        pending = self.pending.pop((stream, partition), _Pending())
        if pending.raw or pending.rows or pending.rejected or cursor:
            shapes: dict[tuple[str, ...], list[dict]] = {}  # rows leaving a column out keep its stored value
            for row in pending.rows:
                shapes.setdefault(tuple(row), []).append(row)
            batch = Batch(self.workspace_id, SOURCE, stream, partition, raw=pending.raw,
                          upserts=[(TABLES[stream], rows) for rows in shapes.values()],
                          rejected=pending.rejected, cursor=cursor)
            key = f"{SOURCE}.{stream}"
            self.counts[key] = self.counts.get(key, LoadCounts()) + self.wh.write(batch, run_id=self.run_id)

    # -- record keys ---------------------------------------------------------------------------

    @staticmethod
    def _thread_key(row: dict) -> str:
        return f"{row['repo']}#{row['number']}"

    @staticmethod
    def _review_key(row: dict) -> str:
        return f"{row['repo']}#{row['pr_number']}/review/{row['review_id']}"

    @staticmethod
    def _event_key(row: dict) -> str:
        return f"{row['repo']}#{row['number']}/{row['event_id']}"

    @staticmethod
    def _comment_key(row: dict) -> str:
        return f"{row['repo']}/{row['kind']}-comment/{row['comment_id']}"



def _fresh(pages: list[Page]) -> list:
    """Items of the pages that were answered 200 (a 304's rows are stored already)."""
    return [item for page in pages if not page.not_modified for item in page.items]


def _unseen(items: list, seen: set[str] | None, skip_seen: bool) -> list:
    """Records not read before in this run. A full listing remembers what it read; the listing at the
    new cursor that follows it then skips those (it returns the newest ones again), so a record is
    counted once per run."""
    if seen is None:
        return items
    fresh = []
    for item in items:
        digest = hashlib.md5(json.dumps(item, sort_keys=True, default=str).encode()).hexdigest()
        if skip_seen and digest in seen:
            continue
        seen.add(digest)
        fresh.append(item)
    return fresh


def _listed_number(item: Any) -> int | None:
    """A listed record's number; None when it has none that could be one of ours (a list, a bool...)."""
    number = item.get("number") if isinstance(item, dict) else None
    return number if type(number) is int else None
