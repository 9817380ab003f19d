//! Writing files that hold secrets or personal data (store keys, enrolment QR codes, recovery codes,
//! reports): through a new, randomly named file in the target's folder, created exclusively (never an
//! existing file or a link someone planted) and owner-only, then renamed to the target — over an
//! existing file only when the caller says so.

use std::io::Write;
use std::path::Path;

/// What to do when the target file exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfExists {
    /// Refuse, and leave it as it is (the command line: a mistyped path must not destroy a file).
    Refuse,
    /// Replace it (the console, after the native Save dialog asked the administrator).
    Replace,
}

/// [`write_owner_only`] for a service action: a failure is the service's error naming the file.
pub(super) fn write_file(path: &Path, bytes: &[u8], if_exists: IfExists) -> Result<(), super::ServiceError> {
    write_owner_only(path, bytes, if_exists).map_err(|source| super::ServiceError::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `bytes` to `path`, readable and writable by its owner only.
pub(super) fn write_owner_only(path: &Path, bytes: &[u8], if_exists: IfExists) -> std::io::Result<()> {
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
    match if_exists {
        IfExists::Replace => file.persist(path).map(drop).map_err(|e| e.error),
        IfExists::Refuse => file.persist_noclobber(path).map(drop).map_err(|e| match e.error.kind() {
            std::io::ErrorKind::AlreadyExists => std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "it already exists, and mailmfa does not replace files: choose another name, or remove it first",
            ),
            _ => e.error,
        }),
    }
}
