"""Issue 21's acceptance: a whole office at once. 20+ mailboxes (Maildir, mbox, Thunderbird, PST
when the shared fixtures are there) into 20+ sandbox Dovecot users with 3 workers; one worker
SIGKILLed mid-run (its job is re-queued when its lease expires); a mailbox's journal deleted and
`batch run --delta` again (the server-side dedupe: nothing twice); every account read back exact
against a plain `migrate run` of the same source; status and verify agree. Once with the embedded
queue (SqliteHuey), once with a throwaway redis-server as the broker.

The oracle of "exact" is independent of the batch code: each distinct source is migrated once
with the plain `migrate run` into a reference account, read back with imapclient, and every
batch account must hold the same folders, bytes, flags and INTERNALDATEs (assert_server_holds).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from migrator.batch.engine import Where
from tests.dovecot.conftest import ImapUser
from tests.dovecot.test_e2e import assert_server_holds, migrate_cmd

pytestmark = pytest.mark.dovecot

REPO = Path(__file__).resolve().parents[2]
PSTS = ("pstsdk-sample1.pst", "aleph-testPST.pst", "gopst-32-bit.pst")
MAILBOXES = 20


def read_server(user: Any) -> tuple[str, dict[str, list[tuple[bytes, set[str], Any]]]]:
    """Every selectable folder's messages (bytes, flags, INTERNALDATE), as tests/dovecot/test_e2e reads
    them; a \\Noselect parent (an mbox `X.sbd` without `X`) holds none."""
    with user.client() as c:
        folders = c.list_folders()
        out = {}
        for flags, _d, name in folders:
            if b"\\Noselect" in flags or b"\\NonExistent" in flags:
                continue
            info = c.select_folder(name, readonly=True)
            if not info[b"EXISTS"]:
                continue
            c.normalise_times = False
            data = c.fetch(c.search("ALL"), ["BODY.PEEK[]", "FLAGS", "INTERNALDATE"])
            out[name] = [(d[b"BODY[]"], {f.decode() for f in d[b"FLAGS"] if f != b"\\Recent"},
                          d[b"INTERNALDATE"]) for _, d in sorted(data.items())]
    return "", out


def _sources(tmp: Path, shared: Path | None) -> list[Path]:
    from tests.tbprofile import build_profiles

    srcs = []
    for name in ("Maildir", "mbox"):
        shutil.copytree(REPO / "examples" / name, tmp / "src" / name)
        srcs.append(tmp / "src" / name)
    srcs.append(build_profiles(tmp / "src" / "tb").profile)
    pst_dir = (shared / "fixtures" / "pst") if shared else None
    for name in PSTS:
        if pst_dir is not None and (pst_dir / name).is_file():
            srcs.append(pst_dir / name)
    return srcs


def _env(cafile: str, lock_dir: Path) -> dict[str, str]:
    env = {**os.environ, "SSL_CERT_FILE": cafile, "MIGRATE_BATCH_LEASE": "4", "PYTHONPATH": str(REPO),
           "MIGRATE_LOCK_DIR": str(lock_dir)}
    env.pop("MIGRATE_PASSWORD", None)
    return env


def _migrate(args: list[str], env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(migrate_cmd() + args, env=env, capture_output=True, text=True, timeout=timeout)


def _new_user(dovecot: Any, quota_kb: int | None = None) -> ImapUser:
    name = f"batch-{uuid.uuid4().hex[:10]}"
    pw = f"pw-{uuid.uuid4().hex[:12]}"
    dovecot.add_user(name, pw, quota_kb)
    return ImapUser(user=name, password=pw, host=dovecot.host, imap_port=dovecot.imap_port,
                    imaps_port=dovecot.imaps_port, cafile=str(dovecot.cafile), sandbox=dovecot, quota_kb=quota_kb)


@pytest.fixture(scope="module")
def office(dovecot: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The distinct sources and, for each, what a plain `migrate run` puts on a fresh account (the
    oracle), computed once for both backends (in this process: no interpreter start per source)."""
    from migrator.cli import main

    tmp = tmp_path_factory.mktemp("office")
    shared = REPO.parent / "shared"
    srcs = _sources(tmp, shared if shared.is_dir() else None)
    refs: dict[Path, Any] = {}
    saved = {k: os.environ.get(k) for k in ("MIGRATE_PASSWORD", "SSL_CERT_FILE", "MIGRATE_LOCK_DIR")}
    try:
        for src in srcs:
            user = _new_user(dovecot)
            os.environ.update(MIGRATE_PASSWORD=user.password, SSL_CERT_FILE=user.cafile,
                              MIGRATE_LOCK_DIR=str(tmp / "locks"))
            rc = main(["run", str(src), "--target", user.url_imaps, "--state", str(tmp / f"ref-{src.name}.db"), "-q"])
            assert rc == 0, src
            refs[src] = read_server(user)[1]
            user.close_clients()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return {"sources": srcs, "refs": refs}


def _wait(where: Where, proc: subprocess.Popen[str], ready: Any, what: str, timeout: float = 120) -> Any:
    """Poll the board until `ready(jobs)` returns something true; that value."""
    board = where.board()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"batch run ended before {what}"
        got = ready(board.jobs())
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _busy_worker(jobs: dict[str, Any]) -> tuple[str, int] | None:
    """(job id, worker pid) of a running job, one that has begun settling messages if any (tiny
    mailboxes on a quick machine: a job may be done before its first heartbeat)."""
    running = [j for j in jobs.values() if j.state == "running" and j.owner]
    for j in sorted(running, key=lambda j: -j.settled):
        return j.job, int(j.owner.split(":")[1])
    return None


@pytest.mark.parametrize("backend", ["embedded", "redis"])
def test_office_batch_killed_worker_resumed_exact(backend: str, office: dict[str, Any], dovecot: Any, tmp_path: Path,
                                                   request: pytest.FixtureRequest) -> None:
    broker = request.getfixturevalue("redis_url") if backend == "redis" else None
    if broker:  # a fresh broker database per test: nothing left from another batch
        import redis

        redis.Redis.from_url(broker).flushdb()
    srcs, refs = office["sources"], office["refs"]
    users = [_new_user(dovecot) for _ in range(MAILBOXES)]
    env = _env(users[0].cafile, tmp_path / "locks")

    # the manifest: file: secrets (0600) for most, env: for some; relative paths from its folder
    home = tmp_path / "office"
    (home / "secrets").mkdir(parents=True)
    lines = ["source,target,secret,provider,since,until,include,exclude,account_prefix"]
    plan: list[tuple[Any, Path]] = []
    for i, user in enumerate(users):
        src = srcs[i % len(srcs)]
        if i % 5 == 4:
            env[f"MAILBOX_PW_{i}"] = user.password
            ref = f"env:MAILBOX_PW_{i}"
        else:
            (home / "secrets" / f"u{i}").write_text(user.password + "\n", encoding="utf-8")
            os.chmod(home / "secrets" / f"u{i}", 0o600)
            ref = f"file:secrets/u{i}"
        lines.append(f"{src},{user.url_imaps},{ref},,,,,,")
        plan.append((user, src))
    manifest = home / "office.csv"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bdir = tmp_path / "batch"
    common = ["--dir", str(bdir)] + (["--broker", broker] if broker else [])
    where = Where(dir=bdir.resolve(), broker=broker)

    r = _migrate(["batch", "plan", str(manifest), *common], env)
    assert r.returncode == 0, r.stdout + r.stderr

    # 3 local workers; SIGKILL one while its job uploads and drop that job's journal (as if it were
    # resumed on another machine): it is taken over when its lease expires and the server-side
    # dedupe keeps what the dead worker sent from arriving twice. Then the batch itself is lost
    # (SIGKILL of `batch run`): its workers stop by themselves, and `batch run` again finishes.
    proc = subprocess.Popen(migrate_cmd() + ["batch", "run", str(manifest), *common, "--workers", "3", "-q"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        victim_job, victim = _wait(where, proc, _busy_worker, "a job uploading")
        os.kill(victim, signal.SIGKILL)
        for p in bdir.glob(f"mailbox-{victim_job}.db*"):
            p.unlink()
        _wait(where, proc, lambda jobs: jobs[victim_job].attempts > 1, "the killed job taken over")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # the orphaned workers notice and stop (their job in hand done)
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("workers of a killed `batch run` kept running")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    r = _migrate(["batch", "run", str(manifest), *common, "--workers", "3", "-q"], env)
    assert r.returncode == 0, r.stdout + r.stderr
    jobs = where.board().jobs()
    assert len(jobs) == MAILBOXES and all(j.state == "done" for j in jobs.values()), r.stdout

    for user, src in plan:
        assert_server_holds(read_server(user)[1], refs[src])

    r = _migrate(["batch", "status", str(manifest), *common, "--json"], env)
    assert r.returncode == 0, r.stderr
    st = json.loads(r.stdout)
    assert [set(m) for m in st["mailboxes"]] == [{"line", "source", "target", "state", "uploaded", "left", "bytes",
                                                  "eta_s"}] * MAILBOXES
    assert all(m["state"] == "done" and m["left"] == 0 for m in st["mailboxes"])
    assert st["totals"]["done"] == MAILBOXES and st["totals"]["mailboxes"] == MAILBOXES

    report = tmp_path / "report" / "batch.html"
    r = _migrate(["batch", "verify", str(manifest), "--dir", str(bdir), "--report", str(report), "--json"], env)
    assert r.returncode == 0, r.stdout + r.stderr
    ver = json.loads(r.stdout)
    assert [m["line"] for m in ver["mailboxes"]] == [m["line"] for m in st["mailboxes"]]
    assert all(m["ok"] and m["copies"] == 0 for m in ver["mailboxes"])
    assert [m["found"] for m in ver["mailboxes"]] == [sum(len(v) for v in refs[src].values()) for _u, src in plan]
    assert report.is_file() and len(list(report.parent.glob("line-*.html"))) == MAILBOXES

    # secrets never stored: the queue, the board, the journals, the reports, the output
    stored = b"".join(p.read_bytes() for p in bdir.rglob("*") if p.is_file())
    stored += b"".join(p.read_bytes() for p in report.parent.rglob("*") if p.is_file())
    stored += (r.stdout + r.stderr).encode()
    if broker:
        import redis

        client = redis.Redis.from_url(broker)
        stored += b"".join(repr(client.dump(k)).encode() for k in client.keys("*"))
        stored += where.board().docs.dump().encode()
    assert not [u.user for u in users if u.password.encode() in stored]
    for u in users:
        u.close_clients()


def test_batch_run_bad_rows_and_over_quota(tmp_path: Path, make_imap_user: Any) -> None:
    """A bad row is named with its line and the rest still run (exit 1); a mailbox that does not
    fit is over_quota (exit 4)."""
    ok_user, small = make_imap_user(), make_imap_user(quota_kb=1)
    env = _env(ok_user.cafile, tmp_path / "locks")
    src = tmp_path / "Maildir"
    shutil.copytree(REPO / "examples" / "Maildir", src)
    (tmp_path / "a").write_text(ok_user.password, encoding="utf-8")
    (tmp_path / "b").write_text(small.password, encoding="utf-8")
    manifest = tmp_path / "m.csv"
    manifest.write_text("source,target,secret\n"
                        f"Maildir,{ok_user.url_imaps},file:a\n"
                        f"Maildir,{ok_user.url_imap},hunter2\n", encoding="utf-8")
    r = _migrate(["batch", "run", str(manifest), "--workers", "1", "-q"], env)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "line 3:" in r.stderr and "hunter2" not in r.stdout + r.stderr
    manifest.write_text("source,target,secret\n"
                        f"Maildir,{ok_user.url_imaps},file:a\n"
                        f"Maildir,{small.url_imaps},file:b\n", encoding="utf-8")
    r = _migrate(["batch", "run", str(manifest), "--workers", "2", "-q"], env)
    assert r.returncode == 4, r.stdout + r.stderr
    r = _migrate(["batch", "status", str(manifest), "--json"], env)
    states = [m["state"] for m in json.loads(r.stdout)["mailboxes"]]
    assert states == ["done", "over_quota"]
    r = _migrate(["batch", "verify", str(manifest)], env)
    assert r.returncode == 1, r.stdout


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
