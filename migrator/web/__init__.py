"""`migrate ui`: the parallel run, guided, in a browser (a local web app on 127.0.0.1).

Layer `web` sits between `render` and `cli` (docs/architecture.md): it calls the same flows as the
CLI (web/actions.py) and renders their models and progress events as pages; no migration logic
lives here. The security model (token, cookie, Host, CSRF, CSP) is in web/security.py; how it is
started in web/server.py.
"""
