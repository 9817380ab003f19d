//! `mailmfa.com`, the console-subsystem twin of `mailmfa.exe` that the Windows installer puts
//! beside it: `cmd` and PowerShell pick `.com` before `.exe`, so `mailmfa login begin …` typed at a
//! prompt or run by a script waits and prints like any command. The same program as `mailmfa.exe`.

fn main() -> std::process::ExitCode {
    mailmfa::entry::main()
}
