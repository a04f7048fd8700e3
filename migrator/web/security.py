"""The local web app's guard: who may talk to it, and what a page may do.

The model is Jupyter's for a server on the user's own machine (docs/ui.md "Security"):

- bound to 127.0.0.1 only (web/server.py);
- a random token made at start is in the URL `migrate ui` opens; the first request carrying it
  gets a session cookie (`HttpOnly`, `SameSite=Strict`) and a redirect that drops the token from the
  address bar. Every other request needs that cookie, except the static assets: else 403;
- the `Host` header must be `127.0.0.1:PORT`, `localhost:PORT` or `[::1]:PORT` (DNS rebinding:
  a page of another site that resolves its name to 127.0.0.1 sends its own name): else 403;
- every POST carries the session's CSRF token (header `X-CSRF-Token`, sent by htmx from the
  body's `hx-headers`) and an `Origin` of this app; a POST without `Origin` is refused too;
- every response forbids inline script, framing and caching (a strict Content-Security-Policy).

Pure ASGI middleware (no body buffering, so the server-sent events stream through).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlencode

COOKIE = "migrate_session"
CSRF_HEADER = "x-csrf-token"
STATIC_PREFIX = "/static/"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    # same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on POSTs
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def new_secret() -> str:
    """A fresh unguessable token: 32 random bytes, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


@dataclass
class Guard:
    """The app's secrets and the rules of who gets in. `token`: the start token (in the URL);
    `sessions`: cookie value -> the session's CSRF token (one per browser that presented the token)."""

    port: int
    token: str = field(default_factory=new_secret)
    sessions: dict[str, str] = field(default_factory=dict)

    @property
    def hosts(self) -> frozenset[str]:
        """The Host header values this app answers to (loopback names with our port)."""
        return frozenset(f"{h}:{self.port}" for h in ("127.0.0.1", "localhost", "[::1]"))

    @property
    def origins(self) -> frozenset[str]:
        """The Origin header values a POST may carry: this app's own pages."""
        return frozenset(f"http://{h}" for h in self.hosts)

    def url(self, path: str = "/") -> str:
        """The address to open: `http://127.0.0.1:PORT/?token=...`."""
        return f"http://127.0.0.1:{self.port}{path}?{urlencode({'token': self.token})}"

    def token_ok(self, given: str) -> bool:
        """Whether `given` is the start token (constant-time compare)."""
        return bool(given) and hmac.compare_digest(given.encode(), self.token.encode())

    def new_session(self) -> str:
        """Open a session for a browser that presented the token: its cookie value."""
        sid = new_secret()
        self.sessions[sid] = new_secret()
        return sid

    def csrf_of(self, sid: str) -> str:
        """The CSRF token of session `sid` ("" for an unknown session)."""
        return self.sessions.get(sid, "")


def _headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in scope.get("headers", []):
        out.setdefault(k.decode("latin-1").lower(), v.decode("latin-1"))
    return out


def session_of(scope: Scope) -> str:
    """The session cookie's value in the request (or "")."""
    raw = _headers(scope).get("cookie", "")
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # noqa: BLE001 - a malformed Cookie header is no session
        return ""
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else ""


async def _refuse(send: Send, status: int, why: str) -> None:
    body = f"{status}: {why}\n".encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": body})


async def _redirect_with_cookie(send: Send, location: str, sid: str) -> None:
    cookie = f"{COOKIE}={sid}; Path=/; HttpOnly; SameSite=Strict"
    await send({"type": "http.response.start", "status": 303,
                "headers": [(b"location", location.encode()), (b"set-cookie", cookie.encode()),
                            (b"content-length", b"0"), *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": b""})


class GuardMiddleware:
    """ASGI middleware applying the Guard's rules to every HTTP request (see the module docstring).
    The request's session id is put in `scope["state"]["sid"]` for the routes."""

    def __init__(self, app: ASGIApp, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request; pass it on (with the security headers added) or answer 403."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        if headers.get("host", "") not in self.guard.hosts:
            await _refuse(send, 403, "this app answers to 127.0.0.1 and localhost only")
            return
        path = scope.get("path", "")
        if not path.startswith(STATIC_PREFIX):
            sid = session_of(scope)
            if sid not in self.guard.sessions:
                query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
                token = (query.get("token") or [""])[0]
                if scope["method"] == "GET" and self.guard.token_ok(token):
                    rest = {k: v for k, v in query.items() if k != "token"}
                    await _redirect_with_cookie(send, path + ("?" + urlencode(rest, doseq=True) if rest else ""),
                                                self.guard.new_session())
                    return
                await _refuse(send, 403, "open the address `migrate ui` printed (it holds the access token)")
                return
            if scope["method"] not in ("GET", "HEAD"):
                if headers.get("origin", "") not in self.guard.origins:
                    await _refuse(send, 403, "a request from another site (Origin) is refused")
                    return
                given = headers.get(CSRF_HEADER, "")
                if not given or not hmac.compare_digest(given.encode(), self.guard.csrf_of(sid).encode()):
                    await _refuse(send, 403, "the form's CSRF token is missing or wrong: reload the page")
                    return
            scope.setdefault("state", {})["sid"] = sid

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)
