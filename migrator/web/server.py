"""Starting `migrate ui`: bind 127.0.0.1, print the URL with its token, open the browser, serve.

The socket is bound here (port 0: a free port the system picks) so the guard knows the port
before the first request; uvicorn serves on that socket until Ctrl-C or SIGTERM, then the app's
shutdown asks a running copy to stop after its current batch (the journal stays settled).
"""

from __future__ import annotations

import socket
import sys
import threading
from pathlib import Path
from types import FrameType

from migrator.domain.errors import UsageError
from migrator.domain.i18n import _

HOST = "127.0.0.1"


def bind(port: int) -> socket.socket:
    """A listening TCP socket on 127.0.0.1:`port` (0: any free port); UsageError when it is taken."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if sys.platform != "win32":
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        sock.close()
        raise UsageError(_("--port {port}: cannot listen on {host}:{port} ({reason})").format(
            port=port, host=HOST, reason=exc.strerror or exc),
            hint=_("Another program uses that port: leave --port out to take a free one.")) from exc
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


def serve(port: int = 0, open_browser: bool = True, lang: str | None = None, saved_dir: Path | None = None) -> int:
    """Run the app until interrupted; prints the URL (with the token) as the first line on stdout.
    Returns 0 after a clean stop."""
    try:
        import uvicorn
    except ImportError as exc:
        raise UsageError(_("`migrate ui` needs FastAPI and uvicorn, which are not installed"),
                         hint=_("Install them: pip install 'pop-migrate[ui]'")) from exc
    from migrator.web.app import Settings, create_app
    from migrator.web.security import Guard
    from migrator.web.session import saved_dir as default_saved_dir

    sock = bind(port)
    guard = Guard(port=sock.getsockname()[1])
    settings = Settings(guard, lang, saved_dir or default_saved_dir())
    app = create_app(settings)
    url = guard.url("/")
    print(url, flush=True)  # the first line on stdout: the bare address (scripts and tests read it)
    print(_("migrate ui: Ctrl-C stops the app (a copy in progress stops after its current batch and resumes "
            "next time)."), file=sys.stderr, flush=True)
    if open_browser:
        import webbrowser

        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=3,
                            lifespan="on", server_header=False)

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            settings.stop_all()  # at once, not after the pages' connections have closed
            super().handle_exit(sig, frame)

    server = Server(config)
    try:
        server.run(sockets=[sock])  # returns after a clean shutdown (uvicorn then re-raises SIGINT/SIGTERM)
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0
