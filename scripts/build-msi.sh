#!/usr/bin/env bash
# Builds the Windows installer from this checkout: cross-compiles the release mailmfa.exe and its
# console-subsystem twin (mailmfa-com.exe, shipped as mailmfa.com) for x86_64-pc-windows-gnu
# (MinGW-w64), packs them with wixl (msitools) from wix/main.wxs, and adds with msibuild the
# Environment rows wixl cannot write: the install folder appended to the system PATH and
# MAILMFA_STORE naming the machine's store.
# Writes ${CARGO_TARGET_DIR:-target}/wix/mailmfa-VERSION-x86_64.msi and prints its path last.
# Installs nothing; see README.md, "Building the Windows installer", for the packages it needs.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
# shellcheck source=scripts/msi-common.sh
source scripts/msi-common.sh

target=x86_64-pc-windows-gnu
require_tools cargo rustc x86_64-w64-mingw32-gcc x86_64-w64-mingw32-windres wixl msibuild
if [[ ! -d "$(rustc --print sysroot)/lib/rustlib/$target/lib" ]]; then
    echo "error: the Rust standard library for $target is not installed" >&2
    echo "  run: rustup target add $target" >&2
    exit 1
fi

version=$(cargo_version)
product_version=$(msi_version "$version")

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
echo "==> cargo build --release --target $target --features console-twin (mailmfa $version)" >&2
cargo build --release --target "$target" --features console-twin --bins

bin_dir="$CARGO_TARGET_DIR/$target/release"
file_version=$(exe_file_version "$bin_dir/mailmfa.exe")
for exe in mailmfa.exe mailmfa-com.exe; do
    got=$(exe_file_version "$bin_dir/$exe")
    if [[ $got != "$product_version.0" ]]; then
        echo "error: $bin_dir/$exe has file version '$got', expected $product_version.0" >&2
        exit 1
    fi
done
out_dir="$CARGO_TARGET_DIR/wix"
msi="$out_dir/mailmfa-$version-x86_64.msi"
mkdir -p "$out_dir"
# wixl finds sources only by paths relative to the folder it runs in.
rel_bin_dir=$(realpath -m --relative-to="$root" "$bin_dir")

echo "==> wixl: ProductVersion $product_version" >&2
wixl --arch x64 \
    --define "Version=$product_version" \
    --define "CargoTargetBinDir=$rel_bin_dir" \
    --output "$msi" \
    wix/main.wxs
# wixl leaves the File table's Version empty; Windows Installer's file rules want the exe's.
for file in mailmfa.exe mailmfa.com; do
    msibuild "$msi" -q "UPDATE \`File\` SET \`Version\` = '$file_version', \`Language\` = '0' WHERE \`File\` = '$file'"
done
# The Environment table (wixl rejects <Environment>): '*' a system variable, '=' set at install,
# '-' removed at uninstall; '[~];' appends to PATH, and removal takes only that part out again.
msibuild "$msi" -q "CREATE TABLE \`Environment\` (\`Environment\` CHAR(72) NOT NULL, \`Name\` CHAR(255) NOT NULL LOCALIZABLE, \`Value\` CHAR(255) LOCALIZABLE, \`Component_\` CHAR(72) NOT NULL PRIMARY KEY \`Environment\`)"
msibuild "$msi" -q "INSERT INTO \`Environment\` (\`Environment\`, \`Name\`, \`Value\`, \`Component_\`) VALUES ('SystemPath', '=-*PATH', '[~];[INSTALLDIR]', 'MainExecutable')"
msibuild "$msi" -q "INSERT INTO \`Environment\` (\`Environment\`, \`Name\`, \`Value\`, \`Component_\`) VALUES ('MachineStore', '=-*MAILMFA_STORE', '[CommonAppDataFolder]mailmfa\\mailmfa.sqlite3', 'MainExecutable')"
msibuild "$msi" -q "INSERT INTO \`InstallExecuteSequence\` (\`Action\`, \`Sequence\`) VALUES ('RemoveEnvironmentStrings', 3300)"
msibuild "$msi" -q "INSERT INTO \`InstallExecuteSequence\` (\`Action\`, \`Sequence\`) VALUES ('WriteEnvironmentStrings', 5200)"
realpath "$msi"
