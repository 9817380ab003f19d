# shellcheck shell=bash
# Shared by build-msi.sh and check-msi.sh (sourced, not run): the versions the installer carries.

# The package version from Cargo.toml, e.g. 0.1.0 or 0.2.0-rc.1.
cargo_version() {
    local pkgid
    pkgid=$(cargo pkgid --offline 2>/dev/null || cargo pkgid) || {
        echo "error: cargo pkgid failed; run this from the mailmfa repository" >&2
        return 1
    }
    echo "${pkgid##*[#@]}"
}

# The MSI ProductVersion for a Cargo version: its X.Y.Z (Windows Installer takes only numbers:
# X and Y at most 255, Z at most 65535; a pre-release or build suffix is dropped).
msi_version() {
    local core=${1%%[-+]*}
    if [[ ! $core =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] ||
        ((BASH_REMATCH[1] > 255 || BASH_REMATCH[2] > 255 || BASH_REMATCH[3] > 65535)); then
        echo "error: version '$1' does not fit an MSI ProductVersion (X.Y.Z, X,Y <= 255, Z <= 65535)" >&2
        return 1
    fi
    echo "$core"
}

# Exits with a clear message if any of the named commands is missing.
require_tools() {
    local missing=() tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    if ((${#missing[@]})); then
        echo "error: missing tool(s): ${missing[*]}" >&2
        echo "  Debian/Ubuntu: apt-get install -y gcc-mingw-w64-x86-64 wixl msitools file" >&2
        echo "  and: rustup target add x86_64-pc-windows-gnu" >&2
        exit 1
    fi
}

# The file version (A.B.C.D) in the version resource of a Windows executable: the numbers of its
# VS_FIXEDFILEINFO, found by its signature 0xFEEF04BD. Empty if it has none.
exe_file_version() {
    local offset words
    offset=$(LC_ALL=C grep -obUaP '\xbd\x04\xef\xfe' "$1" | head -n 1 | cut -d: -f1) || true
    [[ -n $offset ]] || return 0
    # dwFileVersionMS then dwFileVersionLS, little-endian: minor, major, private, build.
    read -r -a words < <(od -An -tu2 -j $((offset + 8)) -N 8 "$1")
    echo "${words[1]}.${words[0]}.${words[3]}.${words[2]}"
}
