#!/usr/bin/env bash
# Screenshots of what a mail user sees, from a real run: `mailmfa serve` on a temporary store,
# Dovecot and Roundcube with the plugin from integrations/roundcube/mailmfa, and headless Chromium,
# all on 127.0.0.1 and stopped afterwards. The ignored tests `screenshots_of_the_hosted_pages`
# (tests/it/signin/mod.rs), `screenshots_of_the_passkey_pages` (tests/it/signin/passkeys.rs and
# tests/it/roundcube/passkeys.rs, with Chromium's virtual authenticator),
# `screenshots_of_the_sign_in_pages` (tests/it/roundcube.rs) and
# `screenshots_of_the_web_administration` (tests/it/webadmin/phone.rs) drive the browser; this
# script runs them and writes into assets/screenshots/:
#
#   signin-enrol.png, signin-code.png, signin-recovery-codes.png         (1280 px wide)
#   signin-enrol-phone.png, signin-code-phone.png,
#   signin-recovery-codes-phone.png                                      (360 px, 2x pixels)
#   signin-passkey-create.png, signin-passkey.png, signin-passkey-none.png (1280 px wide)
#   signin-passkey-create-phone.png, signin-passkey-phone.png,
#   signin-passkey-none-phone.png                                        (360 px, 2x pixels)
#   roundcube-enrol.png, roundcube-code.png, roundcube-wrong-code.png     (1280 px wide)
#   roundcube-enrol-phone.png, roundcube-code-phone.png,
#   roundcube-wrong-code-phone.png                                       (360 px, 2x pixels)
#   roundcube-settings.png, roundcube-mail-programs.png,
#   roundcube-locked.png                                                 (1280 px wide)
#   roundcube-passkey-create.png, roundcube-passkey-use.png,
#   roundcube-passkeys.png                                               (1280 px wide)
#   roundcube-passkey-create-phone.png, roundcube-passkey-use-phone.png,
#   roundcube-passkey-failed-phone.png                                   (360 px, 2x pixels)
#   admin-mailboxes.png, admin-mailbox.png                               (1280 px wide)
#   admin-mailboxes-phone.png, admin-mailbox-phone.png                   (360 px, 2x pixels)
#
# Needs what the Roundcube tests need (scripts/test installs it): chromium chromium-driver php-cli
# php-sqlite3 php-curl php-mbstring roundcube-core roundcube-sqlite3 dovecot-imapd.
# Usage: scripts/screenshots-web.sh [output folder]   (default: assets/screenshots)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

OUT=$(realpath -m "${1:-assets/screenshots}")
mkdir -p "$OUT"

export NO_PROXY="127.0.0.1,localhost,::1${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"
MAILMFA_SCREENSHOT_DIR="$OUT" cargo test --no-default-features --test it \
    screenshots_of_the -- --ignored --nocapture
