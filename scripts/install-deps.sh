#!/usr/bin/env bash
# Install what the test suite needs; safe to run again (does nothing that is already done).
#  1. Debian packages: dovecot-imapd dovecot-pop3d dovecot-core pst-utils openssl ca-certificates
#     chromium fonts-noto-cjk isync undbx redis-server
#     (+ gcc when there is no C compiler: libpff-python may build from source).
#     apt-get update runs only when something is missing.  As root directly, otherwise
#     with passwordless sudo, otherwise the command to run is printed.
#  2. python3 -m pip install -e '.[test]' from the repository root (distribution `pop-migrate`),
#     after removing an old editable install of this project under its former name `migrator`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# chromium renders verify's HTML report in a test; isync (mbsync) is the benchmark's peer;
# undbx extracts Outlook Express .dbx folders for the dbx reader (sources/dbx); dovecot-pop3d serves
# the POP3 source tests; redis-server: `migrate batch --broker` across machines (a throwaway one in
# tests/batch)
pkgs=(dovecot-imapd dovecot-pop3d dovecot-core pst-utils openssl ca-certificates chromium fonts-noto-cjk isync
      undbx redis-server)
command -v cc >/dev/null 2>&1 || pkgs+=(gcc libc6-dev)

if command -v dpkg-query >/dev/null 2>&1; then
    missing=()
    for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if ((${#missing[@]})); then
        sudo=()
        if [ "$(id -u)" -ne 0 ]; then
            if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
                sudo=(sudo -n)
            else
                echo "install-deps: missing Debian packages: ${missing[*]}" >&2
                echo "install-deps: run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
                sudo=(false)
            fi
        fi
        if [ "${sudo[0]:-}" != false ]; then
            echo "install-deps: installing ${missing[*]}" >&2
            export DEBIAN_FRONTEND=noninteractive
            "${sudo[@]}" apt-get update -qq
            "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
        fi
    fi
else
    echo "install-deps: not a Debian system; install Dovecot 2.3 (imapd) and pst-utils yourself" >&2
fi

pip_args=(install -q --disable-pip-version-check --no-input -e '.[test,ui,batch]')
uninstall_args=(uninstall -y -q --disable-pip-version-check)
in_venv='import sys; sys.exit(sys.prefix == sys.base_prefix)'
if ! python3 -c "$in_venv"; then
    # Debian's own python3 refuses pip outside a venv (PEP 668)
    if python3 -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))'; then
        pip_args+=(--break-system-packages)
        uninstall_args+=(--break-system-packages)
    fi
    # a normal user without write access to site-packages installs into ~/.local
    if [ "$(id -u)" -ne 0 ] && ! python3 -c 'import os, sys, sysconfig; sys.exit(not os.access(sysconfig.get_path("purelib"), os.W_OK))'; then
        pip_args+=(--user)
    fi
fi
# This project was once installed under the distribution name `migrator` (taken on the package index
# by an unrelated project; ours is `pop-migrate` now). Two distributions would then both own the
# `migrator` package and the `migrate` script. Remove the old one first (uninstalling it after the
# new install would delete the shared bin/migrate), and only when it is ours: an editable install
# (PEP 610 direct_url.json) whose `migrate` command is migrator.cli:main. The unrelated package of
# that name is never touched.
old_editable_dist='
import importlib.metadata as md, json, sys
try:
    dist = md.distribution("migrator")
except md.PackageNotFoundError:
    sys.exit(1)
direct = json.loads(dist.read_text("direct_url.json") or "{}")
scripts = {e.name: e.value for e in dist.entry_points if e.group == "console_scripts"}
sys.exit(0 if direct.get("dir_info", {}).get("editable") and scripts.get("migrate") == "migrator.cli:main" else 1)
'
if python3 -I -c "$old_editable_dist"; then   # -I: not the repository's own migrator.egg-info
    echo "install-deps: removing the old editable install of this project named 'migrator' (now 'pop-migrate')" >&2
    PIP_ROOT_USER_ACTION=ignore python3 -m pip "${uninstall_args[@]}" migrator
fi
rm -rf migrator.egg-info   # setuptools' build metadata under the old name, in this checkout
PIP_ROOT_USER_ACTION=ignore python3 -m pip "${pip_args[@]}"
