"""Loopback stand-ins for Trello, Asana and Notion that remember what was created, for the task
outputs' tests (a plain module: the tests import it).

Each is the replay kit's server (:class:`cmflow.testing.ReplayServer`) with state: a scripted reply
(``server.add``) wins, as in every replay test, so a test scripts a 401, a 429 or a 503 where it
wants one; otherwise the server answers as the platform does, in its documented shapes (fields,
status codes, error bodies), from the items it holds. ``lose_answers`` makes the server take the
next creates (Trello: comments too) and then answer too late (the client has given up by then): the item exists, the
sender never heard so. Counts of what was posted, created and found twice are the tests' figures.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from cmflow.testing import Reply, ReplayServer

KEY_LINE = "cmflow-key: "


class TaskBoard(ReplayServer):
    """A stateful fake of one task API; subclasses speak one platform."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[dict[str, Any]] = []
        self.lose_answers = 0
        """How many of the next creates are taken, then answered after the client's timeout."""
        self.answer_delay = 1.5
        self._ids = itertools.count(1)

    def _answer(self, request):
        with self._lock:
            scripted = [r for r in self.routes if r.matches(request.method, request.path, request.query)
                        and not r.exhausted]
        if scripted:
            return super()._answer(request)
        with self._lock:
            self.requests.append(request)
            reply = self.handle(request)
            if reply is None:
                self.unmatched.append(request)
                return Reply(404, json={"error": f"no such path {request.path}"})
            return reply

    def created(self, reply: Reply) -> Reply:
        """A create's answer, lost on the way back when the test asks for it."""
        if self.lose_answers:
            self.lose_answers -= 1
            reply.delay = self.answer_delay
        return reply

    def posts(self, path_end: str) -> int:
        return sum(1 for r in self.requests if r.method == "POST" and r.path.endswith(path_end))

    def handle(self, request) -> Reply | None:
        raise NotImplementedError

    def keys(self) -> list[str]:
        raise NotImplementedError

    @property
    def duplicated(self) -> int:
        """Items beyond the first with the same key: what idempotence must keep at 0."""
        keys = self.keys()
        return len(keys) - len(set(keys))


class TrelloBoard(TaskBoard):
    """``/1/boards/{id}/cards`` and ``/1/cards`` of the Trello REST API (key and token in the query)."""

    def __init__(self, board: str = "64b000000000000000000001", key: str = "trello-key-0123456789abcdef",
                 token: str = "ATTA-trello-token-0123456789abcdef0123456789abcdef") -> None:
        super().__init__()
        self.board, self.key, self.token = board, key, token
        self.comments: list[tuple[str, str]] = []

    def keys(self) -> list[str]:
        return [line[len(KEY_LINE):] for card in self.items for line in card["desc"].splitlines()
                if line.startswith(KEY_LINE)]

    def handle(self, request) -> Reply | None:
        params = request.params
        if params.get("key") != self.key or params.get("token") != self.token:
            return Reply(401, body="invalid token", headers={"Content-Type": "text/plain; charset=utf-8"})
        if request.method == "GET" and request.path == f"/1/boards/{self.board}/cards":
            fields = params.get("fields", "").split(",")
            return Reply(json=[{f: card[f] for f in fields if f in card} for card in reversed(self.items)])
        if request.method == "POST" and request.path == "/1/cards":
            body = request.json()
            number = next(self._ids)
            card_id = f"65a{number:021x}"
            card = {"id": card_id, "name": body["name"], "desc": body.get("desc", ""), "idList": body["idList"],
                    "idBoard": self.board, "closed": False, "due": body.get("due"), "dueComplete": False,
                    "idMembers": [m for m in body.get("idMembers", "").split(",") if m],
                    "idLabels": [i for i in body.get("idLabels", "").split(",") if i],
                    "shortLink": f"Ab{number:06d}", "shortUrl": f"https://trello.com/c/Ab{number:06d}",
                    "url": f"https://trello.com/c/Ab{number:06d}/{number}-card", "pos": 16384 * number,
                    "dateLastActivity": "2026-11-16T09:00:00.000Z", "labels": [], "badges": {}}
            self.items.append(card)
            return self.created(Reply(json=card))
        card = next((c for c in self.items if request.path in (f"/1/cards/{c['id']}", f"/1/cards/{c['id']}/actions",
                                                                f"/1/cards/{c['id']}/actions/comments")), None)
        if card is None:
            return Reply(404, body="The requested resource was not found.",
                         headers={"Content-Type": "text/plain; charset=utf-8"}) if "/cards/" in request.path else None
        if request.method == "GET" and request.path.endswith("/actions") and params.get("filter") == "commentCard":
            return Reply(json=[self.comment_action(number, card_id, text) for number, (card_id, text)
                               in reversed(list(enumerate(self.comments, start=1))) if card_id == card["id"]])
        if request.method == "PUT":
            card.update({k: v for k, v in request.json().items() if k in ("idList", "closed", "name")})
            return Reply(json=card)
        if request.method == "POST" and request.path.endswith("/actions/comments"):
            self.comments.append((card["id"], params["text"]))
            return self.created(Reply(json=self.comment_action(len(self.comments), card["id"], params["text"])))
        return None

    @staticmethod
    def comment_action(number: int, card_id: str, text: str) -> dict[str, Any]:
        """A ``commentCard`` action as Trello lists a card's comments (newest first)."""
        return {"id": f"65c{number:021x}", "idMemberCreator": "5a0b1c2d3e4f5a6b7c8d9e0f", "type": "commentCard",
                "date": "2026-11-16T09:00:00.000Z", "data": {"text": text, "card": {"id": card_id}},
                "memberCreator": {"id": "5a0b1c2d3e4f5a6b7c8d9e0f", "fullName": "cmflow bot"}}


class AsanaWorkspace(TaskBoard):
    """``/api/1.0/tasks`` of the Asana API (Bearer token, ``{"data": ...}`` envelopes)."""

    def __init__(self, token: str = "2/1204567890123456/1209876543210987:0a1b2c3d4e5f60718293a4b5c6d7e8f9") -> None:
        super().__init__()
        self.token = token
        self.keeps_external = True
        """False: the token is not an OAuth app's, and Asana keeps no integration id."""

    def keys(self) -> list[str]:
        return [task["external"]["gid"] if task.get("external") else task["notes"].rsplit(KEY_LINE, 1)[-1]
                for task in self.items]

    def handle(self, request) -> Reply | None:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Reply(401, json={"errors": [{"message": "Not Authorized",
                                                "help": "For more information on API status codes and how to handle "
                                                        "them, read the docs on errors: https://developers.asana.com/docs/errors"}]})
        if request.method == "GET" and request.path.startswith("/api/1.0/tasks/external:"):
            key = request.path.split("external:", 1)[1]
            task = next((t for t in self.items if (t.get("external") or {}).get("gid") == key), None)
            if task is None:
                return Reply(404, json={"errors": [{"message": f"task: Unknown object: external:{key}",
                                                    "help": "For more information on API status codes and how to "
                                                            "handle them, read the docs on errors: "
                                                            "https://developers.asana.com/docs/errors"}]})
            return Reply(json={"data": self.shown(task)})
        if request.method == "POST" and request.path == "/api/1.0/tasks":
            data = request.json()["data"]
            gid = str(1209000000000000 + next(self._ids))
            task = {"gid": gid, "resource_type": "task", "name": data["name"], "notes": data.get("notes", ""),
                    "completed": False, "due_on": data.get("due_on"), "assignee": data.get("assignee"),
                    "projects": data.get("projects") or [m["project"] for m in data.get("memberships", [])],
                    "external": data.get("external") if self.keeps_external else None,
                    "permalink_url": f"https://app.asana.com/1/1204567890123456/project/0/task/{gid}"}
            self.items.append(task)
            return self.created(Reply(201, json={"data": self.shown(task)}))
        task = next((t for t in self.items if request.path == f"/api/1.0/tasks/{t['gid']}"), None)
        if task is not None and request.method == "PUT":
            task.update({k: v for k, v in request.json()["data"].items() if k in ("completed", "name")})
            return Reply(json={"data": self.shown(task)})
        return None

    @staticmethod
    def shown(task: dict[str, Any]) -> dict[str, Any]:
        shown = {"gid": task["gid"], "resource_type": "task", "completed": task["completed"],
                 "notes": task["notes"], "permalink_url": task["permalink_url"]}
        if task.get("external"):  # returned only when set (and asked for)
            shown["external"] = task["external"]
        return shown


class NotionDatabase(TaskBoard):
    """``/v1/databases/{id}/query``, ``/v1/pages`` and ``/v1/blocks/{id}/children`` of the Notion API."""

    def __init__(self, database: str = "8a6d1e0c2b7f4e1a9c3d5e7f9a1b3c5d",
                 token: str = "ntn_4f1c2b3a4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f") -> None:
        super().__init__()
        self.database, self.token = database, token
        self.appended: list[tuple[str, str]] = []

    def keys(self) -> list[str]:
        return [page["properties"]["cmflow key"]["rich_text"][0]["text"]["content"] for page in self.items]

    def handle(self, request) -> Reply | None:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Reply(401, json={"object": "error", "status": 401, "code": "unauthorized",
                                    "message": "API token is invalid.", "request_id": "2b1c3d4e-0000-4000-8000-000000000001"})
        if request.headers.get("notion-version") != "2022-06-28":
            return Reply(400, json={"object": "error", "status": 400, "code": "missing_version",
                                    "message": "Notion-Version header failed validation."})
        if request.method == "POST" and request.path == f"/v1/databases/{self.database}/query":
            wanted = request.json()["filter"]
            found = [p for p in self.items
                     if (p["properties"].get(wanted["property"], {}).get("rich_text") or [{}])[0]
                     .get("text", {}).get("content") == wanted["rich_text"]["equals"]]
            return Reply(json={"object": "list", "results": found[:request.json().get("page_size", 100)],
                               "next_cursor": None, "has_more": False, "type": "page_or_database",
                               "page_or_database": {}})
        if request.method == "POST" and request.path == "/v1/pages":
            body = request.json()
            number = next(self._ids)
            page_id = f"1b2c3d4e-0000-4000-8000-{number:012d}"
            page = {"object": "page", "id": page_id, "created_time": "2026-11-16T09:00:00.000Z",
                    "parent": {"type": "database_id", "database_id": body["parent"]["database_id"]},
                    "archived": False, "in_trash": False, "properties": body["properties"],
                    "children": body.get("children", []),
                    "url": f"https://www.notion.so/Task-{page_id.replace('-', '')}"}
            self.items.append(page)
            return self.created(Reply(json={k: v for k, v in page.items() if k != "children"}))
        page = next((p for p in self.items if request.path in (f"/v1/pages/{p['id']}", f"/v1/blocks/{p['id']}/children")),
                    None)
        if page is not None and request.method == "PATCH":
            body = request.json()
            if request.path.startswith("/v1/pages/"):
                page["properties"].update(body["properties"])
                return Reply(json={k: v for k, v in page.items() if k != "children"})
            for block in body["children"]:
                self.appended.append((page["id"], block["paragraph"]["rich_text"][0]["text"]["content"]))
            return Reply(json={"object": "list", "results": body["children"], "next_cursor": None, "has_more": False})
        return None


def wait_until_answered(server: TaskBoard, seconds: float = 3.0) -> None:
    """Let a lost answer's delayed reply finish before the server stops."""
    deadline = time.monotonic() + seconds
    while server.in_flight and time.monotonic() < deadline:
        time.sleep(0.05)


def body_json(request) -> Any:
    return json.loads(request.body)
