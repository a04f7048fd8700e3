"""`migrate ui`'s guard, with plain HTTP requests (no browser): the token, the session cookie, the
Host check against DNS rebinding, CSRF + Origin on every POST, and the security headers."""

from __future__ import annotations

import re

import httpx


def _session(app) -> tuple[httpx.Client, str]:
    """A client that presented the token (so holds the cookie), and the page's CSRF token."""
    c = httpx.Client(base_url=app.base, timeout=20)
    r = c.get(app.url, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/", r.text
    assert "token" not in r.headers["location"]
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    page = c.get("/step/1")
    assert page.status_code == 200
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text).group(1)
    return c, csrf


def test_token_cookie_host_csrf_origin(ui):
    app = ui()
    port = app.base.rsplit(":", 1)[1]
    # no token, no cookie: refused (every page, every POST); static assets are served
    assert httpx.get(app.base + "/").status_code == 403
    assert httpx.get(app.base + "/step/2").status_code == 403
    assert httpx.get(app.base + "/?token=wrong").status_code == 403
    assert httpx.post(app.base + "/sources/add", data={"path": "/"},
                      headers={"Origin": app.base}).status_code == 403
    assert httpx.get(app.base + "/static/htmx.min.js").status_code == 200

    c, csrf = _session(app)
    # DNS rebinding: a name other than 127.0.0.1/localhost (with our port) is refused, even with the cookie
    for host in ("evil.example:" + port, "127.0.0.1:1", "localhost", "attacker.test"):
        assert c.get("/step/1", headers={"Host": host}).status_code == 403, host
    assert c.get("/static/app.js", headers={"Host": "evil.example:" + port}).status_code == 403
    assert c.get("/step/1", headers={"Host": "localhost:" + port}).status_code == 200
    # the token works with the localhost name too
    assert httpx.get(app.url.replace("127.0.0.1", "localhost"), follow_redirects=True).status_code == 200

    ok = {"Origin": app.base, "X-CSRF-Token": csrf}
    data = {"path": "/nonexistent/mail"}
    assert c.post("/sources/add", data=data, headers=ok).status_code == 200
    assert c.post("/sources/add", data=data, headers={"X-CSRF-Token": csrf}).status_code == 403, "no Origin"
    assert c.post("/sources/add", data=data, headers={"Origin": "http://evil.example", "X-CSRF-Token": csrf}).status_code == 403
    assert c.post("/sources/add", data=data, headers={"Origin": "null", "X-CSRF-Token": csrf}).status_code == 403
    assert c.post("/sources/add", data=data, headers={"Origin": app.base}).status_code == 403, "no CSRF token"
    assert c.post("/sources/add", data=data, headers={"Origin": app.base, "X-CSRF-Token": "x" + csrf}).status_code == 403
    # a second browser's session has its own CSRF token
    c2, csrf2 = _session(app)
    assert csrf2 != csrf
    assert c2.post("/sources/add", data=data, headers={"Origin": app.base, "X-CSRF-Token": csrf}).status_code == 403

    # the language: the browser's (no --lang given), then the page's switch wins
    assert '<html lang="ja">' in c.get("/step/1", headers={"Accept-Language": "ja,en;q=0.5"}).text
    assert '<html lang="en">' in c.get("/step/1", headers={"Accept-Language": "en-US"}).text
    c.get("/lang/ja", params={"next": "/step/1"})
    page = c.get("/step/1", headers={"Accept-Language": "en-US"}).text
    assert '<html lang="ja">' in page and "あなたのメール" in page

    # the language switch goes back to this app's pages only
    for bad in ("//evil.example/", "/\\evil.example", "https://evil.example/", "/step/1?x=//evil"):
        r = c.get("/lang/ja", params={"next": bad}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/", bad
    assert c.get("/lang/ja", params={"next": "/step/2"}, follow_redirects=False).headers["location"] == "/step/2"

    # the headers of every answer: strict CSP (no inline script), no framing, no caching
    r = c.get("/step/1")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["cache-control"] == "no-store"
    assert "<script>" not in r.text and not re.search(r"<script(?![^>]*\bsrc=)", r.text), "no inline script"
    assert not re.search(r"\son[a-z]+=", r.text), "no inline event handlers"
    assert httpx.get(app.base + "/").headers["content-security-policy"] == csp


def test_bound_to_loopback_only(ui):
    import socket

    app = ui()
    port = int(app.base.rsplit(":", 1)[1])
    addrs = {a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)} - {"127.0.0.1", "127.0.1.1"}
    for addr in addrs:
        s = socket.socket()
        s.settimeout(2)
        try:
            assert s.connect_ex((addr, port)) != 0, f"reachable on {addr}"
        finally:
            s.close()


def test_password_never_on_disk_or_in_output(ui, tmp_path):
    app = ui()
    c, csrf = _session(app)
    secret = "Sekret-pw-4711"
    r = c.post("/account/check", headers={"Origin": app.base, "X-CSRF-Token": csrf},
               data={"provider": "other", "address": "me@example.com", "host": "127.0.0.1", "port": "1",
                     "security": "tls", "login": "me", "password": secret})
    assert r.status_code == 200 and 'data-state="error"' in r.text
    assert secret not in r.text
    assert secret not in c.get("/step/2").text, "never shown back"
    app.stop()
    assert secret not in "".join(app.log)
    for p in tmp_path.rglob("*"):
        if p.is_file():
            assert secret.encode() not in p.read_bytes(), p


def test_certificate_it_cannot_verify_is_diagnosed(ui, imap_user):
    """The app trusts what the CLI trusts: without the sandbox CA (SSL_CERT_FILE) the check refuses
    the server's certificate and says why, in the page's language."""
    app = ui(lang="en")  # no cafile: the system store does not know the sandbox CA
    c, csrf = _session(app)
    r = c.post("/account/check", headers={"Origin": app.base, "X-CSRF-Token": csrf},
               data={"provider": "other", "address": "me@example.com", "host": imap_user.host,
                     "port": str(imap_user.imaps_port), "security": "tls", "login": imap_user.user,
                     "password": imap_user.password})
    assert r.status_code == 200 and 'data-state="error"' in r.text
    assert "certificate" in r.text.lower()
    assert imap_user.password not in r.text
