#!/usr/bin/env bash
# Install what the test suite needs; safe to run again (does nothing that is already done).
#  1. Debian packages: dovecot-imapd dovecot-core pst-utils openssl ca-certificates chromium
#     fonts-noto-cjk isync
#     (+ gcc when there is no C compiler: libpff-python may build from source).
#     apt-get update runs only when something is missing.  As root directly, otherwise
#     with passwordless sudo, otherwise the command to run is printed.
#  2. python3 -m pip install -e '.[test]' from the repository root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# chromium renders verify's HTML report in a test; isync (mbsync) is the benchmark's peer
pkgs=(dovecot-imapd dovecot-core pst-utils openssl ca-certificates chromium fonts-noto-cjk isync)
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

pip_args=(install -q --disable-pip-version-check --no-input -e '.[test]')
in_venv='import sys; sys.exit(sys.prefix == sys.base_prefix)'
if ! python3 -c "$in_venv"; then
    # Debian's own python3 refuses pip outside a venv (PEP 668)
    if python3 -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))'; then
        pip_args+=(--break-system-packages)
    fi
    # a normal user without write access to site-packages installs into ~/.local
    if [ "$(id -u)" -ne 0 ] && ! python3 -c 'import os, sys, sysconfig; sys.exit(not os.access(sysconfig.get_path("purelib"), os.W_OK))'; then
        pip_args+=(--user)
    fi
fi
PIP_ROOT_USER_ACTION=ignore python3 -m pip "${pip_args[@]}"
