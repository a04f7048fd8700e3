#!/usr/bin/env python3
"""A throwaway, real Dovecot 2.3 IMAP (and POP3, with dovecot-pop3d) server for tests and benchmarks.

Everything lives under one base directory: ``dovecot.conf``, ``users/<name>`` (one
passwd-file per user), ``tokens/<name>`` (static XOAUTH2/OAUTHBEARER tokens), ``tls/``
(a throwaway CA and a server certificate for localhost/127.0.0.1/127.0.0.2/::1),
``mail/<user>/Maildir`` (storage),
``dovecot.log`` and ``sandbox.json`` (what the CLI ``stop`` needs).  Sockets go to
``<base>/run`` unless that path is too long for AF_UNIX, then to a short /tmp dir.

Layout: Maildir, ``LAYOUT=fs``, hierarchy separator ``/`` (both configurable).
Special-use folders Sent, Drafts, Trash, Junk, Archive are auto-subscribed.
Quota: ``count`` backend with ``quota_vsizes``; per-user limit from
``add_user(quota_kb=...)``, no limit otherwise.

As root the login processes run as ``dovenull``, internals as ``dovecot`` and mail
as ``dovecot``; as a normal user everything runs as that user.  As root, start() adds
o+x to the base directory's ancestors; keep the base out of /tmp/pytest-of-root, which
every new pytest session chmods back to 0700 (the default base is a fresh /tmp dir).

CLI::

    python tools/dovecot_sandbox.py start --dir DIR [--user NAME:PASSWORD[:QUOTA_KB]]
    python tools/dovecot_sandbox.py stop --dir DIR

No dependency on the migrator package.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import grp
import ipaddress
import json
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Self

__all__ = ["DovecotSandbox", "DovecotStartError", "DovecotUnavailable", "make_certs"]

_SBIN_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/local/sbin"])
SPECIAL_USE = {"Sent": "\\Sent", "Drafts": "\\Drafts", "Trash": "\\Trash", "Junk": "\\Junk", "Archive": "\\Archive"}


class DovecotUnavailable(RuntimeError):
    """Dovecot (or something it needs) is not installed on this machine."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DovecotStartError(RuntimeError):
    """Dovecot is installed but the sandbox failed to start; the message has the log tail."""


def _which(name: str) -> str | None:
    return shutil.which(name, path=_SBIN_PATH)


def _free_ports(host: str, n: int) -> list[int]:
    """n distinct free ports: all bound at once, so that the kernel cannot hand the same
    ephemeral port out twice (two ports asked one after the other sometimes came back equal, and
    Dovecot then refused the configuration: "duplicate listener")."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(n)]
        for s in socks:
            s.bind((host, 0))
        return [int(s.getsockname()[1]) for s in socks]


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def make_certs(directory: Path, *, expired: bool = False,
               hosts: tuple[str, ...] = ("localhost", "127.0.0.1", "127.0.0.2", "::1")) -> tuple[Path, Path, Path]:
    """Write ca.pem, server.pem, server.key (EC P-256) into *directory*; return their paths.

    The server certificate has the given DNS names / IPs as SANs; ``expired=True``
    makes it valid only in the past.  Uses python ``cryptography``.
    """
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise DovecotUnavailable(f"python 'cryptography' is needed for the sandbox certificates: {exc}") from exc

    directory.mkdir(parents=True, exist_ok=True)
    now = _dt.datetime.now(_dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dovecot-sandbox throwaway CA")])
    ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - _dt.timedelta(days=30)).not_valid_after(now + _dt.timedelta(days=3650))
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                            content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False,
                                            encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
               .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for h in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    if expired:
        start, end = now - _dt.timedelta(days=60), now - _dt.timedelta(days=1)
    else:
        start, end = now - _dt.timedelta(days=1), now + _dt.timedelta(days=825)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    cafile, certfile, keyfile = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    cafile.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    keyfile.chmod(0o600)
    return cafile, certfile, keyfile


def _group_members(pgid: int) -> dict[int, str]:
    """{pid: state letter} of the processes in process group *pgid* (Linux /proc)."""
    out: dict[int, str] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and int(fields[2]) == pgid:
            out[int(d.name)] = fields[0]
    return out


def _kill_group(pgid: int, timeout: float = 3.0) -> None:
    """Stop a dovecot started in its own process group.

    SIGTERM goes to the whole group (to the master alone, busy imap processes linger), and is
    repeated because a child forked meanwhile misses it.  Once only the master is left,
    SIGINT (same meaning) usually wakes it from its 1 s shutdown sleep() so that it reaps its
    children and exits (SIGKILL would leave them as zombies).  At *timeout*: SIGKILL all."""
    start = time.monotonic()
    next_term = start
    while True:
        try:  # reap the master if it is our child (a zombie still counts as a group member)
            os.waitpid(pgid, os.WNOHANG)
        except ChildProcessError:
            pass
        members = _group_members(pgid)
        alive = [pid for pid, st in members.items() if st != "Z"]
        if not alive:  # orphaned zombies are harmless; init reaps them
            return
        now = time.monotonic()
        try:
            if now > start + timeout:
                os.killpg(pgid, signal.SIGKILL)
            elif now >= next_term:
                next_term = now + 0.05
                if alive == [pgid]:
                    os.kill(pgid, signal.SIGINT)
                else:
                    os.killpg(pgid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
        if now > start + timeout + 2:
            return
        time.sleep(0.01)


class DovecotSandbox:
    """A self-contained Dovecot on ``host`` with an ``imap`` (STARTTLS) and an ``imaps`` listener,
    and ``pop3`` (STLS) and ``pop3s`` listeners when dovecot-pop3d is installed (``pop3=None``) or
    asked for (RETR never sets \\Seen: ``pop3_no_flag_updates = yes``; UIDL as ``pop3_uidl_format``).
    ``rawlog=True`` records the sessions of users given ``have_rawlog(user)``.

    Attributes: ``host``, ``imap_port``, ``imaps_port``, ``pop3_port``, ``pop3s_port`` (the TLS ports
    ``None`` when ``starttls=False``, i.e. TLS is disabled server-wide), ``cafile``, ``base``,
    ``separator``, ``layout``, ``version``.

    ``disable_plaintext_auth=True`` forbids LOGIN/PLAIN before TLS.  Dovecot treats a
    connection whose client IP equals the server IP as secure, so in that mode the
    default ``host`` becomes 127.0.0.2 (clients then connect from 127.0.0.1).
    """

    def __init__(self, base: str | os.PathLike[str] | None = None, *, host: str | None = None,
                 imap_port: int = 0, imaps_port: int = 0, starttls: bool = True,
                 disable_plaintext_auth: bool = False, expired_cert: bool = False,
                 separator: str = "/", layout: str = "fs", max_userip_connections: int = 200,
                 fsync: bool = False, appendlimit: int | None = None, auth_failure_delay: float = 0,
                 extra_config: str = "", debug: bool = False, pop3: bool | None = None,
                 pop3_uidl_format: str = "%08Xu%08Xv", rawlog: bool = False) -> None:
        self.base = Path(base if base is not None else tempfile.mkdtemp(prefix="dovecot-sandbox-")).resolve()
        self.host = host or ("127.0.0.2" if disable_plaintext_auth else "127.0.0.1")
        self.starttls = starttls
        self.disable_plaintext_auth = disable_plaintext_auth
        self.expired_cert = expired_cert
        if separator not in ("/", "."):
            raise ValueError("separator must be '/' or '.'")
        if layout not in ("fs", "maildir++"):
            raise ValueError("layout must be 'fs' or 'maildir++'")
        self.separator, self.layout = separator, layout
        self.max_userip_connections = max_userip_connections
        self.fsync = fsync
        self.appendlimit = appendlimit
        self.auth_failure_delay = auth_failure_delay
        self.extra_config = extra_config
        self.debug = debug
        # POP3 (dovecot-pop3d): on by default when installed; pop3 = STLS port, pop3s = TLS port
        self.pop3 = pop3 if pop3 is not None else any(Path(d, "pop3").exists()
                                                      for d in ("/usr/lib/dovecot", "/usr/libexec/dovecot"))
        self.pop3_uidl_format = pop3_uidl_format
        self.rawlog = rawlog  # IMAP/POP3 sessions of users that have_rawlog() written to ~/dovecot.rawlog/
        self._req_ports = (imap_port, imaps_port)
        self.imap_port: int = 0
        self.imaps_port: int | None = None
        self.pop3_port: int | None = None
        self.pop3s_port: int | None = None
        self.config = self.base / "dovecot.conf"
        # one passwd-file per user: Dovecot re-checks a passwd-file at most once a second, so a
        # shared file could hide a user added right after another user's login; a new file cannot
        self.users_dir = self.base / "users"
        self.tokens_dir = self.base / "tokens"
        self.log = self.base / "dovecot.log"
        self.mail_root = self.base / "mail"
        self.cafile = self.base / "tls" / "ca.pem"
        self.run_dir = self.base / "run"
        self._proc: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._lock = threading.RLock()
        self._dovecot = _which("dovecot")
        self._doveadm = _which("doveadm")
        self.is_root = os.geteuid() == 0
        self.supervisor_pid: int | None = None  # set by the CLI so that `stop --dir` can ask it to stop
        self._version = ""

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def version(self) -> str:
        """``dovecot --version``, e.g. ``2.3.19.1``; raises DovecotUnavailable when not installed."""
        if not self._version:
            if not self._dovecot:
                raise DovecotUnavailable("dovecot not found (install Debian packages dovecot-imapd dovecot-core)")
            out = subprocess.run([self._dovecot, "--version"], capture_output=True, text=True, timeout=10, check=False)
            self._version = (out.stdout.split() or ["?"])[0]
        return self._version

    def _check_binaries(self) -> tuple[str, str]:
        if not self._dovecot or not self._doveadm:
            raise DovecotUnavailable("dovecot/doveadm not found (install Debian packages dovecot-imapd dovecot-core)")
        if not self.version.startswith("2.3"):
            raise DovecotUnavailable(f"need Dovecot 2.3.x, found {self.version!r}")
        if not any(Path(d, "imap").exists() for d in ("/usr/lib/dovecot", "/usr/libexec/dovecot")):
            raise DovecotUnavailable("dovecot IMAP server missing (install Debian package dovecot-imapd)")
        if self.is_root:
            for name in ("dovecot", "dovenull"):
                try:
                    pwd.getpwnam(name)
                except KeyError:
                    raise DovecotUnavailable(f"system user {name!r} missing (dovecot-core not installed?)") from None
        return self._dovecot, self._doveadm

    def _ids(self) -> tuple[int, int, str, str]:
        """(mail uid, mail gid, login user, internal user)."""
        if self.is_root:
            pw = pwd.getpwnam("dovecot")
            return pw.pw_uid, pw.pw_gid, "dovenull", "dovecot"
        me = pwd.getpwuid(os.getuid()).pw_name
        return os.getuid(), os.getgid(), me, me

    def _prepare_dirs(self) -> None:
        uid, gid, _, _ = self._ids()
        self.base.mkdir(parents=True, exist_ok=True)
        self.mail_root.mkdir(exist_ok=True)
        if len(str(self.run_dir)) > 60:  # AF_UNIX paths max 107 bytes incl. e.g. "/token-login/tokenlogin"
            self.run_dir = Path(tempfile.mkdtemp(prefix="dvs-"))
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.is_root:
            os.chown(self.mail_root, uid, gid)
            self.base.chmod(self.base.stat().st_mode | 0o755)
            # the mail/auth processes (uid dovecot) must traverse every ancestor of base
            for parent in [self.base, *self.base.parents, self.run_dir, *self.run_dir.parents]:
                mode = parent.stat().st_mode
                if not mode & stat.S_IXOTH:
                    parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
        for d in (self.users_dir, self.tokens_dir):
            d.mkdir(exist_ok=True)
            d.chmod(0o755)

    def _read_state(self) -> dict[str, Any]:
        try:
            return dict(json.loads((self.base / "sandbox.json").read_text()))
        except (OSError, ValueError):
            return {}

    def _write_config(self, certfile: Path, keyfile: Path) -> None:
        uid, gid, login_user, internal_user = self._ids()
        yn = {True: "yes", False: "no"}
        nochroot = "" if self.is_root else "  chroot =\n"
        if self.starttls:
            tls = f"ssl = yes\nssl_cert = <{certfile}\nssl_key = <{keyfile}\n"
            if Path("/usr/share/dovecot/dh.pem").exists():
                tls += "ssl_dh = </usr/share/dovecot/dh.pem\n"
        else:
            tls = "ssl = no\n"
        special = "".join(f"  mailbox {n} {{\n    special_use = {f}\n    auto = subscribe\n  }}\n"
                          for n, f in SPECIAL_USE.items())
        text = f"""# generated by tools/dovecot_sandbox.py -- throwaway test server
base_dir = {self.run_dir}
state_dir = {self.run_dir}/state
log_path = {self.log}
instance_name = sandbox-{self.imap_port}
protocols = imap{" pop3" if self.pop3 else ""}
listen = {self.host}
default_login_user = {login_user}
default_internal_user = {internal_user}
{"" if self.is_root else f"default_internal_group = {grp.getgrgid(gid).gr_name}"}
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:~/Maildir{":LAYOUT=fs" if self.layout == "fs" else ""}
mail_fsync = {"optimized" if self.fsync else "never"}
mail_max_userip_connections = {self.max_userip_connections}
mail_plugins = quota
auth_mechanisms = plain login xoauth2 oauthbearer
disable_plaintext_auth = {yn[self.disable_plaintext_auth]}
auth_cache_size = 0
auth_failure_delay = {int(self.auth_failure_delay * 1000)} msecs
auth_verbose = {yn[self.debug]}
mail_debug = {yn[self.debug]}
login_log_format_elements = user=<%u> method=%m rip=%r lip=%l mpid=%e %c
shutdown_clients = yes
{tls}
service imap-login {{
  inet_listener imap {{
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = {self.imaps_port or 0}
    ssl = {yn[self.starttls]}
  }}
{nochroot}}}
# no auth penalty: otherwise each failed login from 127.0.0.1 delays the next ones by 2-15 s
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
{nochroot}}}
service imap-urlauth-login {{
{nochroot}}}
{self._pop3_config(yn, nochroot)}{self._rawlog_config()}
service auth-worker {{
  user = $default_internal_user
}}
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {self.users_dir}/%u
}}
passdb {{
  driver = passwd-file
  mechanisms = xoauth2 oauthbearer
  args = scheme=PLAIN username_format=%u {self.tokens_dir}/%u
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.users_dir}/%u
}}
namespace inbox {{
  inbox = yes
  separator = {self.separator}
  prefix =
{special}}}
protocol imap {{
  mail_plugins = $mail_plugins imap_quota
}}
plugin {{
  quota = count:User quota
  quota_vsizes = yes
{f"  quota_max_mail_size = {self.appendlimit}" if self.appendlimit else ""}
}}
"""
        if self.appendlimit:  # Dovecot 2.3 never advertises APPENDLIMIT by itself
            text += f"imap_capability = +APPENDLIMIT={self.appendlimit}\n"
        self.config.write_text(text + self.extra_config + "\n")
        self.config.chmod(0o644)

    def _pop3_config(self, yn: dict[bool, str], nochroot: str) -> str:
        """The POP3 listeners (pop3: STLS, pop3s: TLS) and the POP3 rules: RETR never sets \\Seen
        (pop3_no_flag_updates), UIDL as `pop3_uidl_format`."""
        if not self.pop3:
            return ""
        return f"""service pop3-login {{
  inet_listener pop3 {{
    port = {self.pop3_port}
  }}
  inet_listener pop3s {{
    port = {self.pop3s_port or 0}
    ssl = {yn[self.starttls]}
  }}
{nochroot}}}
protocol pop3 {{
  pop3_no_flag_updates = yes
  pop3_uidl_format = {self.pop3_uidl_format}
}}
"""

    def _rawlog_config(self) -> str:
        """Dovecot's rawlog after login: a user's sessions are written to ~/dovecot.rawlog/ when that
        directory exists (have_rawlog())."""
        if not self.rawlog:
            return ""
        out = ""
        for proto in ("imap", "pop3") if self.pop3 else ("imap",):
            out += f"""service {proto} {{
  executable = {proto} {proto}-postlogin
}}
service {proto}-postlogin {{
  executable = script-login -d rawlog
  unix_listener {proto}-postlogin {{
  }}
}}
"""
        return out

    def have_rawlog(self, user: str) -> Path:
        """Create the user's ~/dovecot.rawlog/ (the sandbox must run with rawlog=True): each later
        session writes `<date>-<pid>.in` (what the client sent) and `.out` there. Returns the directory."""
        uid, gid, _, _ = self._ids()
        home = self.mail_root / user
        d = home / "dovecot.rawlog"
        d.mkdir(parents=True, exist_ok=True)
        if self.is_root:
            for p in (home, d):
                os.chown(p, uid, gid)
        return d

    def start(self) -> Self:
        """Start Dovecot (no-op when already running); returns once both ports accept connections."""
        with self._lock:
            if self.running:
                return self
            self._check_binaries()
            self._prepare_dirs()
            _stop_stale(self._read_state(), self.config)
            tls = self.base / "tls"
            if not (tls / "server.pem").exists():
                make_certs(tls, expired=self.expired_cert)
            fresh_ports = not self.imap_port
            for attempt in range(3):
                if fresh_ports:  # chosen once; restart() reuses them
                    free = _free_ports(self.host, 4)
                    self.imap_port = self._req_ports[0] or free[0]
                    self.imaps_port = (self._req_ports[1] or free[1]) if self.starttls else None
                    self.pop3_port = free[2] if self.pop3 else None
                    self.pop3s_port = free[3] if self.pop3 and self.starttls else None
                try:
                    self._spawn(tls)
                    return self
                except DovecotStartError as exc:  # lost a race for an ephemeral port: pick others
                    if not (fresh_ports and "in use" in str(exc) and not any(self._req_ports)) or attempt == 2:
                        raise
            return self

    def _spawn(self, tls: Path) -> None:
        dovecot = self._dovecot
        assert dovecot is not None
        self._write_config(tls / "server.pem", tls / "server.key")
        self.log.touch()
        with open(self.base / "dovecot.stderr", "wb") as err:
            # own session/process group: stop() signals the whole group, nothing is left behind
            self._proc = subprocess.Popen([dovecot, "-F", "-c", str(self.config)], stdin=subprocess.DEVNULL,
                                          stdout=err, stderr=err, start_new_session=True, close_fds=True)
        self._finalizer = weakref.finalize(self, _kill_group, self._proc.pid)
        self._write_state()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float = 10.0) -> None:
        assert self._proc is not None
        ports = [p for p in (self.imap_port, self.imaps_port, self.pop3_port, self.pop3s_port) if p]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = (self.base / "dovecot.stderr").read_text(errors="replace")
                raise DovecotStartError(
                    f"dovecot exited with {self._proc.returncode}: {err.strip()}\n{self.log_tail()}")
            if all(_port_open(self.host, p) for p in ports):
                return
            time.sleep(0.02)
        raise DovecotStartError(f"dovecot did not open {ports} within {timeout}s\n{self.log_tail()}")

    def _write_state(self) -> None:
        state = {"pid": self.pid, "supervisor_pid": self.supervisor_pid, "host": self.host,
                 "imap_port": self.imap_port, "imaps_port": self.imaps_port,
                 "pop3_port": self.pop3_port, "pop3s_port": self.pop3s_port,
                 "run_dir": str(self.run_dir), "config": str(self.config)}
        (self.base / "sandbox.json").write_text(json.dumps(state, indent=2) + "\n")

    def stop(self) -> None:
        """Stop Dovecot and every process it started; the base directory is kept."""
        with self._lock:
            if self._proc is None:
                return
            _kill_group(self._proc.pid)
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover
                self._proc.kill()
            if self._finalizer is not None:
                self._finalizer.detach()
            self._proc = self._finalizer = None
            if self.run_dir != self.base / "run":  # a short socket dir of ours in /tmp
                shutil.rmtree(self.run_dir, ignore_errors=True)
                self.run_dir = self.base / "run"

    def restart(self) -> None:
        """Stop and start again on the same ports (open client connections are cut)."""
        with self._lock:
            self.stop()
            self.start()

    def cleanup(self) -> None:
        """stop() and delete the base directory."""
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # ------------------------------------------------------------------ users
    def add_user(self, name: str, password: str, quota_kb: int | None = None, *, token: str | None = None) -> None:
        """Add a user; usable at once, no reload needed (works before start() too).

        ``quota_kb`` sets a storage limit (KiB); ``None`` means unlimited.  ``token`` is a
        static bearer token accepted for that user with XOAUTH2 / OAUTHBEARER.
        """
        for label, value in (("name", name), ("password", password), ("token", token or "")):
            if any(c in value for c in ":\n\r\0") or (label == "name" and (
                    not value or "/" in value or value.startswith(".") or "%" in value)):
                raise ValueError(f"invalid {label} for a passwd-file: {value!r}")
        with self._lock:
            for d in (self.users_dir, self.tokens_dir):
                d.mkdir(parents=True, exist_ok=True)
            if (self.users_dir / name).exists():
                raise ValueError(f"user {name!r} exists")
            if token:
                self._write(self.tokens_dir / name, self._line(name, token, None))
            self._write(self.users_dir / name, self._line(name, password, quota_kb))

    def _line(self, name: str, password: str, quota_kb: int | None) -> str:
        extra = f"userdb_quota_rule=*:storage={int(quota_kb)}K" if quota_kb is not None else ""
        return f"{name}:{{PLAIN}}{password}::::{self.mail_root / name}::{extra}\n"

    def users(self) -> list[str]:
        return [u["user"] for u in self.user_records()]

    def user_records(self) -> list[dict[str, Any]]:
        """[{user, password, quota_kb}] read back from the passwd-files."""
        out: list[dict[str, Any]] = []
        files = sorted(self.users_dir.iterdir()) if self.users_dir.is_dir() else []
        for f in files:
            if f.name.endswith(".tmp"):
                continue
            fields = f.read_text().rstrip("\n").split(":", 7)
            rule = fields[7].split("storage=", 1)[1].rstrip("K") if "storage=" in fields[7] else None
            out.append({"user": fields[0], "password": fields[1].removeprefix("{PLAIN}"),
                        "quota_kb": int(rule) if rule else None})
        return out

    def set_quota(self, name: str, quota_kb: int | None, *, timeout: float = 3.0) -> None:
        """Change a user's storage limit (``None``: unlimited) for new IMAP sessions.

        Returns once Dovecot's auth process serves the new value (it re-checks a changed
        passwd-file at most once a second).
        """
        path = self.users_dir / name
        with self._lock:
            fields = path.read_text().rstrip("\n").split(":", 7)
            self._write(path, self._line(name, fields[1].removeprefix("{PLAIN}"), quota_kb))
        if not self.running:
            return
        want = f"*:storage={int(quota_kb)}K" if quota_kb is not None else ""
        deadline = time.monotonic() + timeout
        while True:
            res = self.doveadm("user", "-f", "quota_rule", name, check=False)
            if res.stdout.strip() == want or time.monotonic() > deadline:
                return
            time.sleep(0.05)

    @staticmethod
    def _write(path: Path, text: str) -> None:
        # write-then-rename so Dovecot never reads a half-written file; Dovecot notices a
        # change by (mtime in whole seconds, size), so make sure the mtime moves on
        old = path.stat().st_mtime if path.exists() else 0.0
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text)
        tmp.chmod(0o644)
        now = time.time()
        if int(now) <= int(old):
            os.utime(tmp, (now, int(old) + 1))
        os.replace(tmp, path)

    def maildir_of(self, user: str) -> Path:
        """The user's Maildir root: INBOX's cur/new/tmp live here; other folders are
        ``<root>/A/B`` (LAYOUT=fs) or ``<root>/.A.B`` (maildir++), names in modified UTF-7."""
        return self.mail_root / user / "Maildir"

    def doveadm(self, *args: str, check: bool = True, input: bytes | None = None,
                timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run ``doveadm -c <config> ARGS`` (e.g. ``quota get -u USER``, ``import``, ``expunge``)."""
        _, doveadm = self._check_binaries()
        proc = subprocess.run([doveadm, "-c", str(self.config), *args], input=input, capture_output=True, check=False,
                              timeout=timeout)
        res = subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(errors="replace"),
                                          proc.stderr.decode(errors="replace"))
        if check and res.returncode != 0:
            raise subprocess.CalledProcessError(res.returncode, res.args, res.stdout, res.stderr)
        return res

    def info(self) -> dict[str, Any]:
        return {"host": self.host, "imap_port": self.imap_port, "imaps_port": self.imaps_port,
                "pop3_port": self.pop3_port, "pop3s_port": self.pop3s_port,
                "cafile": str(self.cafile), "base": str(self.base), "separator": self.separator,
                "layout": self.layout, "version": self.version, "pid": self.pid,
                "users": self.user_records(), "config": str(self.config), "log": str(self.log)}


# ---------------------------------------------------------------------- CLI
def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _stop_stale(state: dict[str, Any], config: Path) -> None:
    """Kill a dovecot left running from this base directory (e.g. a crashed test run)."""
    pid = state.get("pid")
    if pid and str(config) in _cmdline(int(pid)):
        _kill_group(int(pid))
    run_dir = Path(state.get("run_dir") or config.parent / "run")
    if run_dir.name.startswith("dvs-") and run_dir.parent == Path(tempfile.gettempdir()):
        shutil.rmtree(run_dir, ignore_errors=True)


def _stop_dir(base: Path) -> int:
    try:
        state = json.loads((base / "sandbox.json").read_text())
    except (OSError, ValueError):
        print(f"no sandbox state in {base}", file=sys.stderr)
        return 1
    sup = state.get("supervisor_pid")
    if sup and "dovecot_sandbox" in _cmdline(int(sup)):  # ask the foreground `start` to stop
        os.kill(int(sup), signal.SIGTERM)
        deadline = time.monotonic() + 10
        while _cmdline(int(sup)) and time.monotonic() < deadline:
            time.sleep(0.05)
    _stop_stale(state, base / "dovecot.conf")
    print(json.dumps({"stopped": state.get("pid")}))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    st = sub.add_parser("start", help="start in the foreground until SIGTERM/SIGINT")
    st.add_argument("--dir", required=True, type=Path)
    st.add_argument("--host")
    st.add_argument("--imap-port", type=int, default=0)
    st.add_argument("--imaps-port", type=int, default=0)
    st.add_argument("--user", action="append", default=[], help="NAME:PASSWORD[:QUOTA_KB] (repeatable)")
    st.add_argument("--no-starttls", action="store_true")
    st.add_argument("--disable-plaintext-auth", action="store_true")
    st.add_argument("--expired-cert", action="store_true")
    st.add_argument("--separator", default="/", choices=["/", "."])
    st.add_argument("--layout", default="fs", choices=["fs", "maildir++"])
    st.add_argument("--debug", action="store_true")
    sp = sub.add_parser("stop", help="stop a sandbox started with --dir")
    sp.add_argument("--dir", required=True, type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "stop":
        return _stop_dir(args.dir.resolve())
    sb = DovecotSandbox(args.dir, host=args.host, imap_port=args.imap_port, imaps_port=args.imaps_port,
                        starttls=not args.no_starttls, disable_plaintext_auth=args.disable_plaintext_auth,
                        expired_cert=args.expired_cert, separator=args.separator, layout=args.layout,
                        debug=args.debug)
    stop_event = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop_event.set())
    try:
        t0 = time.monotonic()
        sb.supervisor_pid = os.getpid()
        sb.start()
        for spec in args.user:
            name, password, *rest = spec.split(":")
            if name not in sb.users():
                sb.add_user(name, password, int(rest[0]) if rest and rest[0] else None)
        print(json.dumps({**sb.info(), "start_seconds": round(time.monotonic() - t0, 3)}), flush=True)
        while not stop_event.wait(0.5):
            if not sb.running:
                print("dovecot exited unexpectedly\n" + sb.log_tail(), file=sys.stderr)
                return 1
    except DovecotUnavailable as exc:
        print(f"dovecot unavailable: {exc.reason}", file=sys.stderr)
        return 2
    finally:
        sb.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
