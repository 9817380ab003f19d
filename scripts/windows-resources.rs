//! Build script: for a Windows target, compiles the application icon (`assets/mailmfa.ico`) and a
//! version resource (from Cargo.toml) into the executable, with the MinGW `windres` when
//! cross-compiling or the Windows SDK's `rc.exe` on Windows. For any other target it does nothing
//! and needs no Windows tool.

#![allow(clippy::print_stdout, reason = "a build script talks to Cargo on stdout")]

use std::env;
use std::process::ExitCode;

const ICON: &str = "assets/mailmfa.ico";

fn main() -> ExitCode {
    println!("cargo:rerun-if-changed=scripts/windows-resources.rs");
    println!("cargo:rerun-if-changed={ICON}");
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
        return ExitCode::SUCCESS;
    }
    let mut resource = winresource::WindowsResource::new();
    resource
        .set_icon(ICON)
        .set("ProductName", "mailmfa")
        .set("FileDescription", "mailmfa")
        .set("CompanyName", "mailmfa developers")
        .set("LegalCopyright", "Copyright (c) mailmfa developers. MIT licence.")
        .set("Comments", env!("CARGO_PKG_DESCRIPTION"));
    match resource.compile() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "error: compiling the Windows resources ({ICON}, version) failed: {e}\n\
                 Cross-compiling needs the MinGW resource compiler (Debian: gcc-mingw-w64-x86-64, \
                 which brings x86_64-w64-mingw32-windres); set WINDRES to use another one."
            );
            ExitCode::FAILURE
        }
    }
}
