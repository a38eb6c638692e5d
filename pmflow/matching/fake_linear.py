"""A fake Linear GraphQL endpoint for write-back tests: an httpx transport that validates every
document against Linear's official schema (contracts/linear/schema.graphql), applies the
mutations write-back uses (commentCreate, issueCreate) and answers comment(id) / issue(id).

It counts every operation and keeps what was created, so tests can assert that nothing was
written twice and that nothing outside the allowed set was ever attempted. Like Linear, it refuses
a create whose client-chosen ``id`` already exists. ``lose_responses`` makes the next N mutations
take effect and then answer HTTP 500 (the client never sees the result, as after a timeout).

    fake = FakeLinear()
    client = LinearClient("lin_api_test", "https://linear.invalid/graphql", transport=fake.transport(),
                          sleep=lambda s: None)
"""
from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field

import httpx
from graphql import OperationDefinitionNode, parse, validate


@dataclass
class FakeLinear:
    comments: dict[str, dict] = field(default_factory=dict)
    issues: dict[str, dict] = field(default_factory=dict)
    operations: Counter = field(default_factory=Counter)
    mutations: list[tuple[str, dict]] = field(default_factory=list)
    """Every mutation field attempted, with its input, in order (applied or not)."""
    lose_responses: int = 0
    refuse: bool = False
    """Answer every mutation with a permanent GraphQL error (e.g. a team that does not exist)."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    @property
    def mutation_count(self) -> int:
        return len(self.mutations)

    def handle(self, request: httpx.Request) -> httpx.Response:
        from connectors.sandbox.linear_api import linear_schema

        body = json.loads(request.content)
        document = parse(body["query"])
        errors = validate(linear_schema(), document)
        if errors:
            return httpx.Response(400, json={"errors": [{"message": e.message, "extensions": {
                "code": "GRAPHQL_VALIDATION_FAILED"}} for e in errors]})
        operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
        variables = body.get("variables") or {}
        with self._lock:
            self.operations[operation.name.value if operation.name else "anonymous"] += 1
            data, error, lose = {}, None, False
            for selection in operation.selection_set.selections:
                name = selection.name.value
                if operation.operation.value == "mutation":
                    self.mutations.append((name, variables.get("input")))
                    lose = self.lose_responses > 0
                    data[name], error = self._mutate(name, variables.get("input") or {})
                elif name in ("comment", "issue"):
                    store = self.comments if name == "comment" else self.issues
                    found = store.get(variables.get("id"))
                    if found is None:
                        error = {"message": f"Entity not found: {name.capitalize()}",
                                 "extensions": {"code": "INVALID_INPUT"}}
                    data[name] = found
            if lose and error is None:
                self.lose_responses -= 1
                return httpx.Response(500, text="upstream timeout")
        if error is not None:
            return httpx.Response(200, json={"data": None, "errors": [error]})
        return httpx.Response(200, json={"data": data})

    def _mutate(self, name: str, data: dict) -> tuple[dict | None, dict | None]:
        if self.refuse:
            return None, {"message": "Argument Validation Error", "extensions": {"code": "INVALID_INPUT"}}
        if name == "commentCreate":
            if data.get("id") in self.comments:
                return None, {"message": "Entity already exists", "extensions": {"code": "INVALID_INPUT"}}
            self.comments[data["id"]] = {"id": data["id"], "issueId": data.get("issueId"), "body": data.get("body")}
            return {"success": True, "comment": {"id": data["id"]}}, None
        if name == "issueCreate":
            if data.get("id") in self.issues:
                return None, {"message": "Entity already exists", "extensions": {"code": "INVALID_INPUT"}}
            identifier = f"TRI-{len(self.issues) + 1}"
            self.issues[data["id"]] = {"id": data["id"], "identifier": identifier, **data}
            return {"success": True, "issue": {"id": data["id"], "identifier": identifier}}, None
        return None, {"message": f"the fake does not implement {name}", "extensions": {"code": "INVALID_INPUT"}}
