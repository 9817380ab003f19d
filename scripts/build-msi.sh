#!/usr/bin/env bash
# Builds the Windows installer from this checkout: cross-compiles the release mailmfa.exe for
# x86_64-pc-windows-gnu (MinGW-w64) and packs it with wixl (msitools) from wix/main.wxs.
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
echo "==> cargo build --release --target $target (mailmfa $version)" >&2
cargo build --release --target "$target"

bin_dir="$CARGO_TARGET_DIR/$target/release"
file_version=$(exe_file_version "$bin_dir/mailmfa.exe")
if [[ $file_version != "$product_version.0" ]]; then
    echo "error: $bin_dir/mailmfa.exe has file version '$file_version', expected $product_version.0" >&2
    exit 1
fi
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
msibuild "$msi" -q "UPDATE \`File\` SET \`Version\` = '$file_version', \`Language\` = '0' WHERE \`File\` = 'mailmfa.exe'"
realpath "$msi"
