#!/usr/bin/env bash
# Starts the console in a real window under Xvfb on a seeded temporary store (seeded with the CLI:
# post offices, mailboxes, some enrolled through real logins) and saves PNGs of the main views
# into assets/screenshots/. Nothing outside a temporary folder is touched: the store, the key
# folder and eframe's saved window state all live there.
#
# Needs: xvfb mesa-vulkan-drivers libgl1-mesa-dri libxkbcommon-x11-0 imagemagick xdotool x11-utils
# Usage: scripts/screenshots.sh [path/to/mailmfa]   (default: builds and uses target/release/mailmfa)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/assets/screenshots"
BIN=${1:-}
if [[ -z "$BIN" ]]; then
    cargo build --release --manifest-path "$ROOT/Cargo.toml"
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/mailmfa"
fi

WORK=$(mktemp -d)
XVFB_PID=""
APP_PID=""
cleanup() {
    [[ -n "$APP_PID" ]] && kill "$APP_PID" 2>/dev/null || true
    [[ -n "$XVFB_PID" ]] && kill "$XVFB_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

export MAILMFA_STORE="$WORK/store.sqlite3"
export MAILMFA_KEY_DIR="$WORK/keys"
export XDG_DATA_HOME="$WORK/data" XDG_CONFIG_HOME="$WORK/config" XDG_CACHE_HOME="$WORK/cache"
export XDG_RUNTIME_DIR="$WORK/runtime"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
mm() { "$BIN" "$@" >/dev/null; }

# --- seed the store -------------------------------------------------------------------------------
for po in example.com contoso.org fabrikam.net; do mm postoffice add "$po"; done
mm postoffice set example.com --challenge new-country --users-may-configure true
mm postoffice set contoso.org --challenge always
for mb in alice bob carol dave erin frank grace heidi ivan judy mallory niaj olivia peggy rupert sybil trent victor walter; do
    mm mailbox add "$mb@example.com"
done
{
    echo "postoffice,mailbox,challenge,provider,sms_number,alt_email"
    for i in $(seq -w 1 240); do echo "contoso.org,user$i,,,,"; done
    for i in $(seq -w 1 35); do echo "fabrikam.net,staff$i,,,,"; done
} > "$WORK/import.csv"
mm import "$WORK/import.csv"
mm mailbox set bob@example.com --provider sms --sms-number +15551234567
mm mailbox set carol@example.com --provider smtp --alt-email carol@home.example
mm mailbox set dave@example.com --challenge always
mm mailbox set erin@example.com --challenge new-ip
mm mailbox set mallory@example.com --challenge never

# A login as the webmail does it: begin, then the code from the enrolment URI's secret.
totp_code() {
    python3 - "$1" <<'PY'
import base64, hashlib, hmac, struct, sys, time, urllib.parse
uri = sys.argv[1]
secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
key = base64.b32decode(secret + "=" * (-len(secret) % 8))
mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
o = mac[-1] & 15
print("%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1000000))
PY
}
enrol() { # address ip
    local uri
    uri=$("$BIN" login begin "$1" --ip "$2" --json | python3 -c 'import json,sys; print(json.load(sys.stdin).get("otpauth_uri",""))')
    [[ -n "$uri" ]] && "$BIN" login verify "$1" --ip "$2" --code "$(totp_code "$uri")" >/dev/null
    return 0
}
enrol alice@example.com 81.2.69.160     # GB
enrol dave@example.com 8.8.8.8          # US
enrol erin@example.com 193.99.144.80    # DE
enrol grace@example.com 81.2.69.160
enrol user001@contoso.org 203.0.113.10
enrol user002@contoso.org 203.0.113.11
"$BIN" login begin heidi@example.com --ip 203.0.113.20 >/dev/null || true     # pending
"$BIN" login begin ivan@example.com --ip 203.0.113.21 >/dev/null || true
"$BIN" login begin judy@example.com --ip 203.0.113.22 >/dev/null || true      # locked after 5 wrong codes
for _ in 1 2 3 4 5; do "$BIN" login verify judy@example.com --ip 203.0.113.22 --code 000000 >/dev/null || true; done
mm settings set smtp.host smtp.example.com
mm settings set smtp.from "mailmfa@example.com"
mm settings set sms.preset twilio
mm postoffice set example.com --mail-programs app-passwords
mm app-password add alice@example.com --name "Thunderbird at home" --protocols imap,smtp
mm app-password add alice@example.com --name "Phone"
mm client add roundcube --allow 10.0.0.0/24 --return-url https://mail.example.com/
mm client add vpn-gateway --allow 192.0.2.7

# --- start the console ------------------------------------------------------------------------------
export DISPLAY=:99
Xvfb :99 -screen 0 1440x900x24 -nolisten tcp >/dev/null 2>&1 &
XVFB_PID=$!
sleep 2
"$BIN" >"$WORK/console.log" 2>&1 &
APP_PID=$!
W=$(xdotool search --sync --onlyvisible --name "mailmfa console" | head -1)
xdotool windowmove "$W" 0 0 windowfocus --sync "$W"
sleep 4

mkdir -p "$OUT"
shot() { # name
    sleep 1.5
    import -window "$W" "$WORK/$1.png"
    convert "$WORK/$1.png" -strip -define png:compression-level=9 "$OUT/$1.png"
    echo "wrote $OUT/$1.png"
}
key() { xdotool key --window "$W" "$@"; sleep 0.5; }
click() { xdotool mousemove --window "$W" "$1" "$2" click 1; sleep 0.6; }

# Tree rows are 23 px apart from y=37: mailmfa, Post Offices, contoso.org, example.com,
# fabrikam.net, Challenge Providers, API Clients, Settings, Reports, Audit Log (no post office expanded).
tree() { click 110 $((37 + 23 * $1)); }

# example.com with its first mailbox (alice) selected in the table.
tree 3
click 330 137
shot main-window

# Properties > Two Factor (Enter), with the QR code revealed.
key Return
sleep 1
click "${QR_X:-437}" "${QR_Y:-404}"
shot mailbox-properties-two-factor
key Escape

# Properties again: New recovery codes, shown once.
key Return
sleep 1
click "${CODES_X:-617}" "${CODES_Y:-325}"
shot mailbox-properties-recovery-codes
key Escape

# Properties again: the Mail Programs tab, alice's app passwords.
key Return
sleep 1
click "${MAILPROG_X:-590}" "${MAILPROG_Y:-111}"
shot mailbox-properties-mail-programs
key Escape

tree 5
shot challenge-providers

tree 6
shot api-clients

tree 7
shot settings

tree 8
shot reports

tree 9
shot audit-log

# Login preview of heidi (pending): Begin login shows the enrolment QR code.
tree 3
click 330 298
click 1125 176
sleep 1
click "${BEGIN_X:-802}" "${BEGIN_Y:-190}"
shot login-preview
key Escape

# File → Open Database Server…, a URL typed (the fourth item of the File menu).
click 20 12
click 87 108
xdotool type --delay 30 "postgres://mailmfa@db1.example.com/mailmfa?sslmode=require&sslrootcert=/etc/mailmfa/db-ca.pem"
shot open-database-server
key Escape
