#!/usr/bin/env bash
# CI step after the tests: builds the Windows installer and checks it. Installs nothing; CI needs
#   apt-get install -y gcc-mingw-w64-x86-64 wixl msitools file
#   rustup target add x86_64-pc-windows-gnu
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
start=$SECONDS
msi=$(scripts/build-msi.sh | tail -n 1)
scripts/check-msi.sh "$msi"
echo "packaging: $msi built and checked in $((SECONDS - start)) s"
