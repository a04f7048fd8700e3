"""`migrate ui`'s pages: five steps, server-rendered (Jinja2), htmx for the buttons, SSE for progress.

Each button posts to a route that calls the same flow as the CLI (web/actions.py) and answers
with an HTML fragment; long flows (copy, proof) run in a background thread per session
(web/jobs.py) and their progress comes as server-sent events (`/copy/events`, `/verify/events`).
The guard (web/security.py) sits in front of everything.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import SecretStr
from starlette.concurrency import run_in_threadpool

from migrator.domain import providers
from migrator.domain.errors import MigratorError, UsageError
from migrator.domain.filters import parse_day
from migrator.domain.i18n import N_, _, set_language
from migrator.domain.units import count, human_bytes
from migrator.web import actions, lang, stores
from migrator.web.jobs import Job, Snapshot
from migrator.web.security import Guard, GuardMiddleware
from migrator.web.session import OFFERED, OTHER, Account, Security, WebSession

MICROSOFT = "Microsoft 365 / Outlook.com"
OTHER_TITLE = N_("Other server")
STEPS = (N_("Your mail"), N_("Where it goes"), N_("The plan"), N_("Copy"), N_("Proof"))
SSE_INTERVAL = 0.4  # seconds between two progress updates at most


class Settings:
    """What `migrate ui` was started with: the guard, `--lang`, where the saved session lives."""

    def __init__(self, guard: Guard, cli_lang: str | None, saved_dir: Path) -> None:
        self.guard = guard
        self.cli_lang = cli_lang
        self.saved_dir = saved_dir
        self.sessions: dict[str, WebSession] = {}

    def stop_all(self) -> None:
        """Ask every running flow to stop at its next clean point (the app is stopping)."""
        for ws in list(self.sessions.values()):
            for job in (ws.job, ws.verify_job):
                if job is not None and not job.finished:
                    job.stop()


def _env() -> Any:
    env = lang.environment()
    env.filters["size"] = human_bytes
    env.filters["count"] = count
    return env


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def create_app(settings: Settings) -> FastAPI:
    """The FastAPI app behind the guard (routes below); `settings.sessions` holds each browser's state."""
    env = _env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        settings.stop_all()  # the app stops: let a copy settle its journal
        for ws in settings.sessions.values():
            for job in (ws.job, ws.verify_job):
                if job is not None:
                    await asyncio.to_thread(job.thread.join, 5)

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(packages=[("migrator.web", "static")]), name="static")

    def session(request: Request) -> WebSession:
        """This browser's session; the request's language is set from it (texts from Python too)."""
        sid = request.scope.get("state", {}).get("sid", "")
        ws = settings.sessions.get(sid)
        if ws is None:
            ws = settings.sessions[sid] = WebSession()
            saved = WebSession.saved(settings.saved_dir)
            if saved is not None:
                ws.restore(saved, stores.describe)
        set_language(lang.choose(ws.lang, settings.cli_lang, request.headers.get("accept-language", "")))
        return ws

    def render(request: Request, name: str, **ctx: Any) -> HTMLResponse:
        ws = session(request)
        code = lang.choose(ws.lang, settings.cli_lang, request.headers.get("accept-language", ""))
        sid = request.scope.get("state", {}).get("sid", "")
        html = env.get_template(name).render(
            lang=code, ws=ws, csrf=settings.guard.csrf_of(sid), steps=STEPS,
            path=request.url.path, duration=_duration, **ctx)
        return HTMLResponse(html)

    def error_ctx(exc: MigratorError) -> dict[str, str]:
        return {"error": exc.message, "hint": exc.hint or ""}

    # -- pages --------------------------------------------------------------------------------------

    @app.get("/")
    async def home(request: Request) -> Response:
        ws = session(request)
        return RedirectResponse("/step/4" if ws.resumed and ws.job is None else "/step/1", status_code=303)

    @app.get("/lang/{code}")
    async def switch_lang(request: Request, code: str, next: str = "/") -> Response:
        if code in lang.LANGS:
            session(request).lang = code
        own_page = re.fullmatch(r"/[A-Za-z0-9/_.-]*", next) is not None and not next.startswith("//")
        return RedirectResponse(next if own_page else "/", status_code=303)  # never to another site

    @app.get("/step/1", response_class=HTMLResponse)
    async def step1(request: Request) -> HTMLResponse:
        found = await run_in_threadpool(stores.found_on_this_pc)
        return render(request, "step1.html", step=1, found=found)

    @app.get("/step/2", response_class=HTMLResponse)
    async def step2(request: Request) -> HTMLResponse:
        return render(request, "step2.html", step=2, presets=_presets(), other=OTHER)

    @app.get("/step/3", response_class=HTMLResponse)
    async def step3(request: Request) -> HTMLResponse:
        return render(request, "step3.html", step=3, **_plan_ctx(session(request)))

    @app.get("/step/4", response_class=HTMLResponse)
    async def step4(request: Request) -> HTMLResponse:
        ws = session(request)
        return render(request, "step4.html", step=4, **_job_ctx(ws.job))

    @app.get("/step/5", response_class=HTMLResponse)
    async def step5(request: Request) -> HTMLResponse:
        ws = session(request)
        return render(request, "step5.html", step=5, **_job_ctx(ws.verify_job))

    # -- step 1: the sources -----------------------------------------------------------------------

    @app.post("/sources/add", response_class=HTMLResponse)
    async def add_source(request: Request) -> HTMLResponse:
        ws = session(request)
        form = await _form(request)
        text = str(form.get("path", "")).strip().strip('"')
        ctx: dict[str, Any] = {}
        if not text:
            ctx = {"error": _("Type the path of a mail folder or file, or pick one found on this PC."), "hint": ""}
        else:
            path = Path(text).expanduser()
            if path in ws.sources:
                pass
            elif not path.exists():
                ctx = {"error": _("{path}: no such file or folder").format(path=path), "hint": ""}
            else:
                view = await run_in_threadpool(stores.describe, path)
                if view.error:
                    ctx = {"error": view.error, "hint": view.hint}
                else:
                    ws.stores.append(view)
                    ws.plan = None
        return render(request, "_sources.html", **ctx)

    @app.post("/sources/remove", response_class=HTMLResponse)
    async def remove_source(request: Request) -> HTMLResponse:
        ws = session(request)
        form = await _form(request)
        ws.stores = [s for s in ws.stores if str(s.path) != str(form.get("path", ""))]
        ws.plan = None
        return render(request, "_sources.html")

    # -- step 2: the account -----------------------------------------------------------------------

    @app.post("/account/check", response_class=HTMLResponse)
    async def check(request: Request) -> HTMLResponse:
        ws = session(request)
        form = await _form(request)
        try:
            port = int(str(form.get("port", "993")).strip() or "0")
        except ValueError:
            port = 0
        security: Security = "starttls" if form.get("security") == "starttls" else "tls"
        provider = str(form.get("provider", OTHER))
        ws.account = Account(provider if provider in OFFERED else OTHER, str(form.get("address", "")).strip(),
                             str(form.get("host", "")), port, security, str(form.get("login", "")))
        typed = str(form.get("password", ""))
        if typed:
            ws.password = SecretStr(typed)
        elif ws.password is None:
            ws.password = ws.remembered_password()
        ws.remember = form.get("remember") == "on"
        ws.check, ws.plan = None, None
        try:
            cfg = ws.account.target(ws.password)
            if not cfg.password.get_secret_value():
                raise UsageError(_("the password is missing"),
                                 hint=_("Type the password (in the provider's words: the label of the field)."))
        except MigratorError as exc:
            return render(request, "_check.html", report=None, **error_ctx(exc))
        report = await run_in_threadpool(actions.check, cfg)
        ws.check = report
        kept = ws.keep_password() if report.ready and ws.remember else False
        return render(request, "_check.html", report=report, kept=kept, error="", hint="")

    # -- step 3: the plan --------------------------------------------------------------------------

    @app.post("/plan", response_class=HTMLResponse)
    async def make_plan(request: Request) -> HTMLResponse:
        ws = session(request)
        form = await _form(request)
        since = str(form.get("since", "")).strip()
        try:
            if since:
                parse_day(since, "since")
            ws.since = since
            ws.plan = await run_in_threadpool(actions.plan, ws.migration())
            suggested = ws.plan.quota.suggested_since
            if not since and ws.plan.quota.fits is False and suggested:
                # all of it does not fit: the picker starts at the date that fits, with its numbers
                ws.full_plan, ws.since = ws.plan, suggested
                ws.plan = await run_in_threadpool(actions.plan, ws.migration())
            elif not since:
                ws.full_plan = None
        except MigratorError as exc:
            return render(request, "_plan.html", **{**_plan_ctx(ws), **error_ctx(exc)})
        return render(request, "_plan.html", **_plan_ctx(ws))

    @app.post("/archive", response_class=HTMLResponse)
    async def do_archive(request: Request) -> HTMLResponse:
        ws = session(request)
        form = await _form(request)
        dest = Path(str(form.get("dest", "")).strip()).expanduser()
        try:
            if not ws.since:
                raise UsageError(_("no date chosen"), hint=_("Pick the date from which mail is copied; the older "
                                                             "mail is what the archive keeps."))
            report = await run_in_threadpool(actions.archive, ws.sources, _older_than(ws.since), dest)
        except MigratorError as exc:
            return render(request, "_archive.html", report=None, **error_ctx(exc))
        return render(request, "_archive.html", report=report, error="", hint="")

    # -- step 4: the copy --------------------------------------------------------------------------

    @app.post("/copy/start", response_class=HTMLResponse)
    async def start_copy(request: Request) -> HTMLResponse:
        ws = session(request)
        form = await _form(request)
        typed = str(form.get("password", ""))
        if typed:
            ws.password = SecretStr(typed)
        if ws.job is not None and not ws.job.finished:
            return render(request, "_copy.html", **_job_ctx(ws.job))
        try:
            migration = ws.migration()
            if not migration.target.password.get_secret_value():
                raise UsageError(_("the password is needed to carry on"),
                                 hint=_("Type it again: the app keeps it in memory only (or in the keyring when "
                                        "\"remember\" is ticked in step 2)."))
        except MigratorError as exc:
            return render(request, "_copy.html", **_job_ctx(ws.job), **error_ctx(exc))
        ws.save(settings.saved_dir)
        total = ws.plan.totals.to_upload if ws.plan is not None and not ws.plan.estimated else None
        ws.resumed = False
        ws.job = Job("run", lambda sink, stop: actions.run(migration, sink, stop), total,
                     is_interrupted=lambda stats: bool(stats.interrupted),
                     on_finish=lambda state: ws.save(settings.saved_dir, finished=state == "done")).start()
        ws.verify_job = None
        return render(request, "_copy.html", **_job_ctx(ws.job))

    @app.post("/copy/pause", response_class=HTMLResponse)
    async def pause_copy(request: Request) -> HTMLResponse:
        ws = session(request)
        if ws.job is not None:
            ws.job.stop()
        return render(request, "_copy.html", **_job_ctx(ws.job))

    @app.get("/copy/events")
    async def copy_events(request: Request) -> Response:
        return _stream(request, lambda: session(request).job, lambda job: render(request, "_progress.html",
                                                                                 **_job_ctx(job)),
                       lambda job: render(request, "_copy_controls.html", **_job_ctx(job)))

    # -- step 5: the proof -------------------------------------------------------------------------

    @app.post("/verify/start", response_class=HTMLResponse)
    async def start_verify(request: Request) -> HTMLResponse:
        ws = session(request)
        if ws.verify_job is not None and not ws.verify_job.finished:
            return render(request, "_verify.html", **_job_ctx(ws.verify_job))
        try:
            migration = ws.migration()
        except MigratorError as exc:
            return render(request, "_verify.html", **_job_ctx(None), **error_ctx(exc))
        ws.verify_job = Job("verify", lambda sink, stop: actions.verify(migration, sink)).start()
        return render(request, "_verify.html", **_job_ctx(ws.verify_job))

    @app.get("/verify/events")
    async def verify_events(request: Request) -> Response:
        return _stream(request, lambda: session(request).verify_job,
                       lambda job: HTMLResponse("") if job.finished else render(request, "_progress.html",
                                                                                **_job_ctx(job)),
                       lambda job: render(request, "_verdict.html", **_job_ctx(job)))

    @app.get("/verify/report.html")
    async def report(request: Request) -> Response:
        ws = session(request)
        job = ws.verify_job
        if job is None or job.result is None:
            return RedirectResponse("/step/5", status_code=303)
        from migrator.render.html import render_html

        return HTMLResponse(render_html(job.result),
                            headers={"content-disposition": 'attachment; filename="migration-proof.html"'})

    app.add_middleware(GuardMiddleware, guard=settings.guard)
    return app


async def _form(request: Request) -> dict[str, str]:
    """The POSTed form (htmx sends application/x-www-form-urlencoded; no multipart here): the first
    value of each field, as text."""
    from urllib.parse import parse_qs

    body = (await request.body()).decode("utf-8", "replace")
    return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}


def _presets() -> list[dict[str, Any]]:
    """Step 2's provider list: each preset's connection and its own words for the login and password."""
    out: list[dict[str, Any]] = []
    for name in OFFERED:
        if name == OTHER:
            out.append({"name": OTHER, "title": OTHER_TITLE, "host": "", "port": 993, "security": "tls",
                        "user_form": "address", "preset": None})
            continue
        p = providers.get(name)
        out.append({"name": name, "title": MICROSOFT if name == "office365" else p.title, "host": p.host,
                    "port": p.port,
                    "security": "tls" if p.tls == "implicit" else "starttls", "user_form": p.user_form, "preset": p})
    return out


def _plan_ctx(ws: WebSession) -> dict[str, Any]:
    plan = ws.plan
    since = ws.since or (plan.quota.suggested_since or "" if plan is not None and plan.quota.fits is False else "")
    chart = ""
    if plan is not None:
        from migrator.render.charts import cutoff_svg  # the plan report's chart, the same picture

        chart = cutoff_svg(ws.full_plan or plan)  # with a diet: all the years, and where the mail fits
    return {"plan": plan, "full": ws.full_plan, "since_value": since, "chart": chart, "error": "", "hint": ""}


def _older_than(since: str) -> Any:
    from migrator.domain.filters import Scope

    return Scope(until=parse_day(since, "since"))


def _job_ctx(job: Job | None) -> dict[str, Any]:
    snap = job.tracker.snapshot() if job is not None else Snapshot()
    error = hint = ""
    if job is not None and job.error is not None:
        error, hint = job.error.message, job.error.hint or ""
    elif job is not None and job.internal_error:
        error = job.internal_error
    return {"job": job, "snap": snap, "state": job.state if job is not None else "", "result":
            job.result if job is not None else None, "error": error, "hint": hint}


def _sse(event: str, html: str) -> bytes:
    data = "".join(f"data: {line}\n" for line in html.splitlines() or [""])
    return f"event: {event}\n{data}\n".encode()


def _stream(request: Request, get_job: Callable[[], Job | None], progress: Callable[[Job], HTMLResponse],
            final: Callable[[Job], HTMLResponse]) -> Response:
    """Server-sent events: `progress` (the panel) at most every SSE_INTERVAL seconds while the job
    runs; when it ends, `progress` once more, `final` (the controls or the verdict), then `end`."""

    async def events() -> AsyncIterator[bytes]:
        job = get_job()
        if job is None:
            yield b"event: end\ndata: none\n\n"
            return
        seen = -1
        while True:
            if await request.is_disconnected():
                return
            version = await asyncio.to_thread(job.wait_change, seen, 5.0)
            if version != seen:
                seen = version
                yield _sse("progress", bytes(progress(job).body).decode())
            else:
                yield b": keep-alive\n\n"
            if job.finished:
                yield _sse("final", bytes(final(job).body).decode())
                yield b"event: end\ndata: done\n\n"
                return
            await asyncio.sleep(SSE_INTERVAL)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"x-accel-buffering": "no"})

