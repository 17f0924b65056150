"""A Conduit stand-in: `maniphest.edit` checked as Phabricator checks it, answered as it answers.

No Phabricator server runs on a Debian machine, so this small HTTP server on 127.0.0.1 takes
`POST /api/maniphest.edit` with the form fields Phabricator reads (`api.token`,
`objectIdentifier`, `transactions[0][type]=comment`, `transactions[0][value]`) and answers
Conduit's envelope, HTTP 200 also for errors, with Phabricator's own wording:
`ERR-INVALID-AUTH` for a bad token (quoting it, as Phabricator does), `ERR-CONDUIT-CORE` for an
unknown task or a malformed transaction. `mode` makes it fail: `error` (HTTP 500), `slow`
(answers after `delay` seconds), `garbage` (not JSON).

Examples:
    >>> with Conduit(token="api-" + "a" * 28, tasks={"T12345"}) as phab:   # doctest: +SKIP
    ...     ConduitClient(phab.url, token=phab.token).comment("T12345", "hello")
    >>> phab.comments
    [('T12345', 'hello')]
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


class Conduit:
    """A Conduit API stand-in holding the tasks that exist and the comments they got."""

    def __init__(self, *, token: str, tasks: set[str] | None = None, mode: str = "ok",
                 delay: float = 30.0) -> None:
        self.token = token
        self.tasks = set(tasks or {"T12345"})
        self.mode, self.delay = mode, delay
        self.comments: list[tuple[str, str]] = []
        self.requests: list[dict[str, list[str]]] = []
        self._in_flight = 0
        self._idle = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        """Return the Phabricator base URL (the API is under /api/)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def settle(self, timeout: float) -> bool:
        """Wait until no request is being answered (a slow one from an earlier run would
        record its comment after a test cleared them); return False if `timeout` passed."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout)

    def _answering(self, delta: int) -> None:
        with self._idle:
            self._in_flight += delta
            self._idle.notify_all()

    def __enter__(self) -> Conduit:
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, method: str, form: dict[str, list[str]]) -> dict[str, Any]:
        """Return Conduit's envelope for `method` called with `form`."""
        self.requests.append(form)
        token = form.get("api.token", [""])[0]
        if not token:
            return _error("ERR-INVALID-SESSION", "Session key is not present.")
        if len(token) != 32 or not token.startswith("api-"):
            return _error("ERR-INVALID-AUTH", f'API token "{token}" has the wrong length. API '
                          "tokens should be 32 characters long.")
        if token != self.token:
            return _error("ERR-INVALID-AUTH", f'API token "{token}" is not valid.')
        if method != "maniphest.edit":
            return _error("ERR-CONDUIT-CALL", f'Conduit method "{method}" does not exist.')
        task = form.get("objectIdentifier", [""])[0]
        kind = form.get("transactions[0][type]", [""])[0]
        value = form.get("transactions[0][value]", [""])[0]
        if task not in self.tasks:
            return _error("ERR-CONDUIT-CORE", f'Monogram "{task}" does not identify a valid '
                          "object.")
        if kind != "comment" or not value:
            return _error("ERR-CONDUIT-CORE", "Parameter \"transactions\" must contain a list "
                          "of transaction descriptions.")
        self.comments.append((task, value))
        return {"result": {"object": {"id": int(task[1:]), "phid": "PHID-TASK-sandbox"},
                           "transactions": [{"phid": "PHID-XACT-TASK-sandbox"}]},
                "error_code": None, "error_info": None}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        conduit = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                conduit._answering(+1)
                try:
                    self._post()
                finally:
                    conduit._answering(-1)

            def _post(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
                if conduit.mode == "slow":
                    time.sleep(conduit.delay)
                if conduit.mode == "error":
                    self._send(500, b"<h1>Unhandled Exception</h1>", "text/html")
                    return
                if conduit.mode == "garbage":
                    self._send(200, b"<html>maintenance</html>", "text/html")
                    return
                method = self.path.removeprefix("/api/")
                body = json.dumps(conduit.answer(method, form)).encode()
                self._send(200, body, "application/json")

            def _send(self, code: int, body: bytes, kind: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _error(code: str, info: str) -> dict[str, Any]:
    return {"result": None, "error_code": code, "error_info": info}
