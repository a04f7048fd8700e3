#!/usr/bin/env bash
# A real demo migration on this machine: installs what is missing, starts a throwaway Dovecot on
# loopback (TLS, special-use folders, quota), then runs check, plan, run, verify on the sample
# Maildir++ and mbox tree in examples/, and reads the server back. Nothing outside a temp dir is touched.
# `scripts/demo.sh --ui`: the same sandbox, then `migrate ui` (the guided migration in the browser):
# prints the app's address and what to type in it; Ctrl-C stops the app and removes the sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
ui=false
[ "${1:-}" = "--ui" ] && ui=true
bash scripts/install-deps.sh

work=$(mktemp -d /tmp/migrate-demo.XXXXXX)
chmod 755 "$work"
info="$work/sandbox.json.out"
python3 tools/dovecot_sandbox.py start --dir "$work/dovecot" --user demo:demo-password:102400 >"$info" &
sandbox=$!
cleanup() { kill "$sandbox" 2>/dev/null || true; wait "$sandbox" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 100); do [ -s "$info" ] && break; sleep 0.1; done
[ -s "$info" ] || { echo "demo: Dovecot did not start"; exit 1; }
port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["imaps_port"])' "$info")
export SSL_CERT_FILE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cafile"])' "$info")
export MIGRATE_PASSWORD=demo-password   # in real use: a prompt, --password-file or the keyring
target="imaps://demo@127.0.0.1:$port"
state="$work/state.db"

if $ui; then
    unset MIGRATE_PASSWORD   # the app asks for it (kept in memory only)
    printf '\nThe sandbox server is ready. In the app:\n'
    printf '  1. Your mail:      %s/examples/Maildir  (and/or examples/mbox)\n' "$(pwd)"
    printf '  2. Where it goes:  provider "Other server", address demo@example.com, server 127.0.0.1,\n'
    printf '                     port %s, TLS from the start, user name demo, password demo-password\n' "$port"
    printf '  3-5. The plan, Copy, Proof.\nCtrl-C here stops the app and removes the sandbox.\n\n'
    migrate ui "${@:2}" || true
    rm -rf "$work"
    exit 0
fi

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
step migrate check --target "$target"
step migrate plan examples/Maildir examples/mbox --target "$target" --state "$state"
step migrate run examples/Maildir examples/mbox --target "$target" --state "$state"
step migrate run examples/Maildir examples/mbox --target "$target" --state "$state"
step migrate verify examples/Maildir examples/mbox --target "$target" --state "$state" --deep

printf '\n\033[1mThe server, read back with a separate client:\033[0m\n'
python3 - "$port" <<'PY'
import sys, imapclient
c = imapclient.IMAPClient("127.0.0.1", int(sys.argv[1]), ssl=True)
c.login("demo", "demo-password")
for flags, _d, name in c.list_folders():
    n = c.select_folder(name, readonly=True)[b"EXISTS"]
    print(f"  {name:<14} {n} message(s)")
c.logout()
PY
echo
echo "Demo done; the server and its mail are removed now (they lived in $work)."
rm -rf "$work"
