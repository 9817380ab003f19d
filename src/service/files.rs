//! Writing files that hold secrets (store keys, enrolment QR codes): through a new, randomly named
//! file in the target's folder, created exclusively (never an existing file or a link someone
//! planted) and owner-only, then renamed over the target.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path`, readable and writable by its owner only.
pub(super) fn write_owner_only(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut builder = tempfile::Builder::new();
    builder.prefix(".mailmfa-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o600));
    }
    let mut file = builder.tempfile_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}
