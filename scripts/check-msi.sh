#!/usr/bin/env bash
# shellcheck disable=SC2016 # the awk programs in single quotes use awk fields ($1, $2), not shell ones
# Checks an installer built by build-msi.sh against Cargo.toml and wix/main.wxs, reading its tables
# with msiinfo and its files with msiextract: the exe, the GeoIP database and its licence, the
# Start-menu shortcut, the icon, the version, the UpgradeCode, major-upgrade handling, the login
# service (installed, started, stopped before an upgrade, removed), the console twin mailmfa.com,
# the system PATH and MAILMFA_STORE entries, and that the exe is a 64-bit Windows GUI program and
# mailmfa.com a console one. Prints what it checked; exits 1 on the first mismatch.
# Usage: scripts/check-msi.sh FILE.msi
set -euo pipefail

if (($# != 1)); then
    echo "usage: $0 FILE.msi" >&2
    exit 2
fi
msi=$(realpath "$1")
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/msi-common.sh
source scripts/msi-common.sh
require_tools cargo msiinfo msiextract file
[[ -f $msi ]] || { echo "error: no such file: $msi" >&2; exit 2; }

# Never changes: every mailmfa MSI carries it, so that a newer one replaces an older one.
upgrade_code="{8842BA0C-7D09-426C-893A-3079C7A58656}"
version=$(msi_version "$(cargo_version)")

fail() {
    echo "FAIL: $*" >&2
    echo "  in $msi" >&2
    exit 1
}
ok() { echo "ok: $*"; }

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# The rows of a table, tab-separated, without msiinfo's three header lines. (msiinfo writes binary
# cells, such as icons, to files TABLE/ROW.COLUMN in the folder it runs in: the scratch folder.)
rows() { (cd "$scratch" && msiinfo export "$msi" "$1") | tail -n +4 | tr -d '\r'; }
# Exactly one row of TABLE whose columns match an awk condition, printed.
row() {
    local table=$1 cond=$2 found
    found=$(rows "$table" | awk -F'\t' "$cond") || true
    [[ -n $found ]] && echo "$found"
}
prop() { { row Property "\$1 == \"$1\"" || true; } | cut -f2; }
# An awk condition: column $1 holds the file name $2, alone or as the long part of "SHORT~1|long".
long_name_match() {
    echo "(\$$1 == \"$2\" || (index(\$$1, \"|$2\") > 0 && index(\$$1, \"|$2\") == length(\$$1) - length(\"$2\")))"
}

[[ $(wc -l <<<"$(rows Property)") -gt 0 ]] || fail "msiinfo cannot read the Property table"

got=$(prop ProductVersion)
[[ $got == "$version" ]] || fail "Property ProductVersion is '$got', Cargo.toml says '$version'"
ok "Property ProductVersion = $got (Cargo.toml)"

got=$(prop UpgradeCode)
[[ $got == "$upgrade_code" ]] || fail "Property UpgradeCode is '$got', expected $upgrade_code"
ok "Property UpgradeCode = $got"

[[ $(prop ProductName) == mailmfa ]] || fail "Property ProductName is '$(prop ProductName)', expected mailmfa"
[[ $(prop ALLUSERS) == 1 ]] || fail "Property ALLUSERS is not 1 (not a per-machine install)"
ok "Property ProductName = mailmfa, ALLUSERS = 1 (per machine)"

row Upgrade "\$1 == \"$upgrade_code\" && \$7 == \"WIX_UPGRADE_DETECTED\"" >/dev/null ||
    fail "Upgrade table does not remove older versions (no WIX_UPGRADE_DETECTED row)"
row Upgrade "\$1 == \"$upgrade_code\" && \$7 == \"WIX_DOWNGRADE_DETECTED\"" >/dev/null ||
    fail "Upgrade table does not detect newer versions (no WIX_DOWNGRADE_DETECTED row)"
row LaunchCondition '$1 ~ /NOT WIX_DOWNGRADE_DETECTED/' >/dev/null ||
    fail "LaunchCondition does not refuse a downgrade"
row InstallExecuteSequence '$1 == "RemoveExistingProducts"' >/dev/null ||
    fail "InstallExecuteSequence has no RemoveExistingProducts"
ok "major upgrade: older versions replaced, downgrade refused"

row Directory '$1 == "INSTALLDIR" && $2 == "ProgramFiles64Folder" && $3 ~ /(^|\|)mailmfa$/' >/dev/null ||
    fail "Directory INSTALLDIR is not ProgramFiles64Folder\\mailmfa"
geoip_dir=$({ row Directory '$2 == "INSTALLDIR" && $3 ~ /(^|\|)geoip$/' || true; } | cut -f1)
[[ -n $geoip_dir ]] || fail "Directory table has no INSTALLDIR\\geoip"
ok "Directory INSTALLDIR = [ProgramFiles64Folder]mailmfa, with geoip\\"

# The component of a File row (by long name), and that component's directory.
file_dir() {
    local component
    component=$(row File "$(long_name_match 3 "$1")" | cut -f2 | head -n1)
    [[ -n $component ]] || return 1
    row Component "\$1 == \"$component\"" | cut -f3
}
for entry in "mailmfa.exe INSTALLDIR" "mailmfa.com INSTALLDIR" "License.rtf INSTALLDIR" \
    "iptoasn-country.mmdb $geoip_dir" "LICENSE $geoip_dir" "PROVENANCE.md $geoip_dir"; do
    read -r name dir <<<"$entry"
    got=$(file_dir "$name") || fail "File table has no $name"
    [[ $got == "$dir" ]] || fail "File $name is installed in $got, expected $dir"
    ok "File $name in $dir"
done
exe_version=$(row File "$(long_name_match 3 mailmfa.exe)" | cut -f5)
[[ $exe_version == "$version.0" ]] || fail "File mailmfa.exe has version '$exe_version', expected $version.0"
ok "File mailmfa.exe version $exe_version"

# The login service: own process (16), automatic start (2), LocalSystem, `serve --windows-service`
# on the machine's store; started at install (1), stopped at install and uninstall (2 + 32, so
# before an upgrade replaces the exe), removed at uninstall (128).
service=$(row ServiceInstall '$2 == "mailmfa"') || fail "ServiceInstall has no service mailmfa"
[[ $(cut -f4 <<<"$service") == 16 && $(cut -f5 <<<"$service") == 2 ]] ||
    fail "service mailmfa is not an own-process automatic service: $service"
[[ $(cut -f11 <<<"$service") == *"serve --windows-service"* && $(cut -f11 <<<"$service") == *"[CommonAppDataFolder]mailmfa"* ]] ||
    fail "service mailmfa does not run 'serve --windows-service' on the machine's store: $(cut -f11 <<<"$service")"
control=$(row ServiceControl '$2 == "mailmfa"') || fail "ServiceControl has no row for mailmfa"
[[ $(cut -f3 <<<"$control") == 163 ]] || fail "ServiceControl events are $(cut -f3 <<<"$control"), expected 163 (start at install, stop at install and uninstall, remove at uninstall)"
for action in InstallServices StartServices StopServices DeleteServices; do
    row InstallExecuteSequence "\$1 == \"$action\"" >/dev/null || fail "InstallExecuteSequence has no $action"
done
ok "Service mailmfa: $(cut -f3 <<<"$service"), auto start, '$(cut -f11 <<<"$service")', events 163"

path=$(row Environment '$2 == "=-*PATH"') || fail "Environment has no system PATH entry"
[[ $(cut -f3 <<<"$path") == "[~];[INSTALLDIR]" ]] || fail "the PATH entry is '$(cut -f3 <<<"$path")', expected [~];[INSTALLDIR]"
store=$(row Environment '$2 == "=-*MAILMFA_STORE"') || fail "Environment has no system MAILMFA_STORE"
[[ $(cut -f3 <<<"$store") == *"[CommonAppDataFolder]mailmfa"* ]] || fail "MAILMFA_STORE is '$(cut -f3 <<<"$store")'"
for action in WriteEnvironmentStrings RemoveEnvironmentStrings; do
    row InstallExecuteSequence "\$1 == \"$action\"" >/dev/null || fail "InstallExecuteSequence has no $action"
done
ok "Environment: [INSTALLDIR] appended to the system PATH, MAILMFA_STORE = $(cut -f3 <<<"$store")"

icon_cell=$({ row Icon '$1 == "mailmfa.ico"' || true; } | cut -f2)
[[ -n $icon_cell ]] || fail "Icon table has no mailmfa.ico"
cmp -s "$scratch/Icon/$icon_cell" assets/mailmfa.ico || fail "the Icon mailmfa.ico differs from assets/mailmfa.ico"
[[ $(prop ARPPRODUCTICON) == mailmfa.ico ]] || fail "Property ARPPRODUCTICON is not mailmfa.ico"
ok "Icon mailmfa.ico (= assets/mailmfa.ico), ARPPRODUCTICON = mailmfa.ico"

shortcut=$(row Shortcut '$2 == "ProgramMenuFolder" && $3 ~ /(^|\|)mailmfa$/') ||
    fail "Shortcut table has no mailmfa entry in ProgramMenuFolder (Start menu)"
[[ $(cut -f5 <<<"$shortcut") =~ ^(\[INSTALLDIR\]mailmfa\.exe|\[#mailmfa\.exe\])$ ]] ||
    fail "the Start-menu shortcut points at '$(cut -f5 <<<"$shortcut")', not mailmfa.exe"
[[ $(cut -f9 <<<"$shortcut") == mailmfa.ico ]] || fail "the Start-menu shortcut has no icon mailmfa.ico"
ok "Shortcut mailmfa in ProgramMenuFolder -> $(cut -f5 <<<"$shortcut"), icon mailmfa.ico"

msiextract -C "$scratch/files" "$msi" >/dev/null
exe=$(find "$scratch/files" -name mailmfa.exe -print -quit)
[[ -n $exe ]] || fail "msiextract found no mailmfa.exe in the cabinet"
kind=$(file -b "$exe")
[[ $kind == "PE32+ executable (GUI) x86-64"* ]] || fail "mailmfa.exe is '$kind', expected a PE32+ GUI x86-64 executable"
ok "mailmfa.exe: $kind"
twin=$(find "$scratch/files" -name mailmfa.com -print -quit)
[[ -n $twin ]] || fail "msiextract found no mailmfa.com in the cabinet"
kind=$(file -b "$twin")
[[ $kind == "PE32+ executable (console) x86-64"* ]] || fail "mailmfa.com is '$kind', expected a PE32+ console x86-64 executable"
ok "mailmfa.com: $kind"
db=$(find "$scratch/files" -path '*/geoip/iptoasn-country.mmdb' -print -quit)
cmp -s "$db" assets/geoip/iptoasn-country.mmdb || fail "the packed geoip/iptoasn-country.mmdb differs from assets/geoip/"
ok "geoip/iptoasn-country.mmdb identical to assets/geoip/"

echo "MSI OK: $msi"
