//! Where store keys live: one key file per store (named by the store's id) in a folder outside the
//! database — `$MAILMFA_KEY_DIR`, else `%ProgramData%\mailmfa\keys` on Windows (the key wrapped with
//! DPAPI, machine scope), else `~/.config/mailmfa/keys` (owner-only permissions). Also the export
//! format that `mailmfa key export` / `key import` move between servers sharing a store.

use std::fs;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::{CryptoError, StoreKey, from_hex, to_hex};
use crate::service::IfExists;

const HEADER: &str = "mailmfa-store-key 1";

/// The folder of key files.
#[derive(Debug, Clone)]
pub struct KeyRing {
    dir: PathBuf,
}

impl KeyRing {
    /// The key folder at `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The key folder this machine uses: `$MAILMFA_KEY_DIR` if set, else the platform's place.
    pub fn default_location() -> Self {
        if let Some(dir) = std::env::var_os("MAILMFA_KEY_DIR").filter(|d| !d.is_empty()) {
            return Self::new(dir);
        }
        Self::new(platform_dir())
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key file of the store with this id.
    pub fn path_for(&self, store_id: &str) -> PathBuf {
        self.dir.join(format!("{store_id}.key"))
    }

    /// The key of a store, or `None` when this machine has no key file for it. A key folder or
    /// key file that others may read or write is refused, with the command that fixes it.
    pub fn load(&self, store_id: &str) -> Result<Option<StoreKey>, CryptoError> {
        let path = self.path_for(store_id);
        if !path.exists() {
            return Ok(None);
        }
        private::check(&self.dir, true)?;
        private::check(&path, false)?;
        let text = match fs::read_to_string(&path) {
            Ok(text) => Zeroizing::new(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(CryptoError::Io { action: "read", path: path.display().to_string(), source }),
        };
        let (id, key) = parse_key_text(&path, &text)?;
        if id != store_id {
            return Err(bad(&path, format!("it belongs to store {id}, not {store_id}")));
        }
        Ok(Some(key))
    }

    /// Writes the key file of a store, readable only by its owner, replacing any earlier one
    /// atomically. The key folder is created owner-only; an existing one that others may read or
    /// write is refused, never loosened or silently tightened.
    pub fn save(&self, store_id: &str, key: &StoreKey) -> Result<PathBuf, CryptoError> {
        let path = self.path_for(store_id);
        private::create_dir(&self.dir)?;
        private::check(&self.dir, true)?;
        let text = key_text(store_id, key, local_protection())?;
        private::write(&path, &text, IfExists::Replace)?;
        Ok(path)
    }

    /// Removes the key file of a store (one this process made for a store that never came to be).
    pub fn forget(&self, store_id: &str) -> Result<(), CryptoError> {
        let path = self.path_for(store_id);
        fs::remove_file(&path).map_err(|source| CryptoError::Io {
            action: "remove",
            path: path.display().to_string(),
            source,
        })
    }
}

/// Writes an export file that another server imports with `mailmfa key import`. The key is in the
/// clear (a machine-bound DPAPI blob would not open elsewhere): move the file over a safe channel
/// and delete it after the import.
pub fn write_export(path: &Path, store_id: &str, key: &StoreKey, if_exists: IfExists) -> Result<(), CryptoError> {
    let text = key_text(store_id, key, Protection::None)?;
    private::write(path, &text, if_exists)
}

/// Reads an export file: the store id and its key.
pub fn read_export(path: &Path) -> Result<(String, StoreKey), CryptoError> {
    let text = fs::read_to_string(path).map(Zeroizing::new).map_err(|source| CryptoError::Io {
        action: "read",
        path: path.display().to_string(),
        source,
    })?;
    parse_key_text(path, &text)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Protection {
    None,
    #[cfg_attr(not(windows), allow(dead_code))]
    DpapiMachine,
}

impl Protection {
    fn word(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::DpapiMachine => "dpapi-machine",
        }
    }
}

fn local_protection() -> Protection {
    if cfg!(windows) { Protection::DpapiMachine } else { Protection::None }
}

fn key_text(store_id: &str, key: &StoreKey, protection: Protection) -> Result<Zeroizing<String>, CryptoError> {
    let material = match protection {
        Protection::None => Zeroizing::new(key.bytes().to_vec()),
        Protection::DpapiMachine => Zeroizing::new(dpapi::protect(key.bytes())?),
    };
    Ok(Zeroizing::new(format!(
        "{HEADER}\nstore {store_id}\nprotection {}\nkey {}\n",
        protection.word(),
        to_hex(&material).as_str()
    )))
}

fn parse_key_text(path: &Path, text: &str) -> Result<(String, StoreKey), CryptoError> {
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Err(bad(path, "it does not start with the mailmfa key header"));
    }
    let mut field = |name: &str| -> Result<String, CryptoError> {
        lines
            .next()
            .and_then(|l| l.strip_prefix(name))
            .and_then(|v| v.strip_prefix(' '))
            .map(str::to_owned)
            .ok_or_else(|| bad(path, format!("the '{name}' line is missing")))
    };
    let store_id = field("store")?;
    let protection = field("protection")?;
    let material = Zeroizing::new(from_hex(&field("key")?).ok_or_else(|| bad(path, "the key is not hexadecimal"))?);
    let raw = match protection.as_str() {
        "none" => material,
        "dpapi-machine" => Zeroizing::new(dpapi::unprotect(&material)?),
        other => return Err(bad(path, format!("unknown protection '{other}'"))),
    };
    let bytes: [u8; 32] = raw.as_slice().try_into().map_err(|_| bad(path, "the key is not 256 bits"))?;
    if store_id.is_empty() || !store_id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad(path, "the store id is malformed"));
    }
    Ok((store_id, StoreKey::from_bytes(bytes)))
}

fn bad(path: &Path, reason: impl Into<String>) -> CryptoError {
    CryptoError::BadKeyFile { path: path.display().to_string(), reason: reason.into() }
}

fn platform_dir() -> PathBuf {
    if let Some(machine) = crate::service::folders::machine_folder() {
        return machine.join("keys");
    }
    directories::ProjectDirs::from("", "", "mailmfa")
        .map(|d| d.config_dir().join("keys"))
        .unwrap_or_else(|| PathBuf::from(".mailmfa-keys"))
}

/// Files and folders only their owner may use: created that way, refused otherwise.
mod private {
    use std::fs;
    use std::path::Path;

    use super::CryptoError;
    use crate::service::IfExists;

    /// Creates `dir` (and missing parents) for its owner only.
    pub(super) fn create_dir(dir: &Path) -> Result<(), CryptoError> {
        if dir.is_dir() {
            return Ok(());
        }
        let io = |source| CryptoError::Io { action: "create the folder of", path: dir.display().to_string(), source };
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(io)
        }
        #[cfg(not(unix))]
        {
            fs::create_dir_all(dir).map_err(io)?;
            super::acl::restrict(dir)
        }
    }

    /// Refuses a key folder or key file that others may read or write, or that is not the owner's.
    #[cfg(unix)]
    pub(super) fn check(path: &Path, is_dir: bool) -> Result<(), CryptoError> {
        use std::os::unix::fs::MetadataExt;
        let meta = fs::symlink_metadata(path).map_err(|source| CryptoError::Io {
            action: "inspect",
            path: path.display().to_string(),
            source,
        })?;
        let what = if is_dir { "key folder" } else { "key file" };
        let fix = if is_dir { "chmod 700" } else { "chmod 600" };
        let unsafe_because = if meta.file_type().is_symlink() {
            Some("it is a symbolic link".to_owned())
        } else if meta.is_dir() != is_dir {
            Some(format!("it is not a {}", if is_dir { "folder" } else { "file" }))
        } else if meta.uid() != current_uid(path)? {
            Some(format!("it belongs to user id {}, not to the user running mailmfa", meta.uid()))
        } else if meta.mode() & 0o077 != 0 {
            Some(format!("others may read or write it (mode {:o})", meta.mode() & 0o777))
        } else {
            None
        };
        match unsafe_because {
            None => Ok(()),
            Some(reason) => Err(CryptoError::Exposed {
                what,
                path: path.display().to_string(),
                reason,
                fix: format!("{fix} '{}'", path.display()),
            }),
        }
    }

    /// The user id of this process, as the file system sees it (the owner of a file it creates).
    #[cfg(unix)]
    fn current_uid(near: &Path) -> Result<u32, CryptoError> {
        use std::os::unix::fs::MetadataExt;
        fs::metadata("/proc/self").map(|m| m.uid()).map_err(|source| CryptoError::Io {
            action: "inspect",
            path: near.display().to_string(),
            source,
        })
    }

    /// On Windows the key folder's access list is set when it is created (owner, Administrators
    /// and SYSTEM only) and the key itself is wrapped with DPAPI.
    #[cfg(not(unix))]
    pub(super) fn check(_path: &Path, _is_dir: bool) -> Result<(), CryptoError> {
        Ok(())
    }

    /// Writes a key file (see [`crate::service::files`]).
    pub(super) fn write(path: &Path, text: &str, if_exists: IfExists) -> Result<(), CryptoError> {
        crate::service::files::write_owner_only(path, text.as_bytes(), if_exists).map_err(|source| CryptoError::Io {
            action: "write",
            path: path.display().to_string(),
            source,
        })
    }
}

#[cfg(windows)]
#[allow(unsafe_code)]
mod dpapi {
    //! The one audited use of `unsafe`: Windows DPAPI (`CryptProtectData` / `CryptUnprotectData`)
    //! in machine scope, so the key file opens only on this machine.

    use windows_sys::Win32::Foundation::LocalFree;
    use windows_sys::Win32::Security::Cryptography::{
        CRYPT_INTEGER_BLOB, CRYPTPROTECT_LOCAL_MACHINE, CRYPTPROTECT_UI_FORBIDDEN, CryptProtectData, CryptUnprotectData,
    };

    use super::CryptoError;

    fn call(input: &[u8], protect: bool) -> Result<Vec<u8>, CryptoError> {
        let what = if protect { "protect" } else { "unprotect" };
        let len = u32::try_from(input.len()).map_err(|_| CryptoError::Dpapi(what))?;
        let data_in = CRYPT_INTEGER_BLOB { cbData: len, pbData: input.as_ptr().cast_mut() };
        let mut data_out = CRYPT_INTEGER_BLOB { cbData: 0, pbData: std::ptr::null_mut() };
        let flags = CRYPTPROTECT_LOCAL_MACHINE | CRYPTPROTECT_UI_FORBIDDEN;
        // SAFETY: `data_in` points at `input`, alive for the call; DPAPI only reads it. On success
        // DPAPI allocates `data_out` with LocalAlloc; we copy it out and free it exactly once.
        let ok = unsafe {
            if protect {
                CryptProtectData(
                    &data_in,
                    std::ptr::null(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    flags,
                    &mut data_out,
                )
            } else {
                CryptUnprotectData(
                    &data_in,
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    flags,
                    &mut data_out,
                )
            }
        };
        if ok == 0 || data_out.pbData.is_null() {
            return Err(CryptoError::Dpapi(what));
        }
        // SAFETY: on success `pbData` points at `cbData` bytes owned by us until LocalFree.
        let out = unsafe { std::slice::from_raw_parts(data_out.pbData, data_out.cbData as usize).to_vec() };
        // SAFETY: `pbData` was allocated by DPAPI with LocalAlloc and is not used after this.
        unsafe { LocalFree(data_out.pbData.cast()) };
        Ok(out)
    }

    pub(super) fn protect(plain: &[u8]) -> Result<Vec<u8>, CryptoError> {
        call(plain, true)
    }

    pub(super) fn unprotect(blob: &[u8]) -> Result<Vec<u8>, CryptoError> {
        call(blob, false)
    }
}

/// Restricts a new folder to SYSTEM, the Administrators and its owner (Windows; elsewhere the
/// folder is created owner-only).
#[cfg(windows)]
pub(in crate::service) fn restrict_folder(dir: &Path) -> Result<(), CryptoError> {
    acl::restrict(dir)
}

/// The key folder's access list on Windows: full control for SYSTEM, the Administrators and the
/// folder's owner, nothing inherited from above.
#[cfg(windows)]
#[allow(unsafe_code)]
mod acl {
    use std::os::windows::ffi::OsStrExt;
    use std::path::Path;

    use windows_sys::Win32::Foundation::LocalFree;
    use windows_sys::Win32::Security::Authorization::{
        ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
    };
    use windows_sys::Win32::Security::{
        DACL_SECURITY_INFORMATION, PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, SetFileSecurityW,
    };

    use super::CryptoError;

    const SDDL: &str = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;OW)";

    pub(super) fn restrict(dir: &Path) -> Result<(), CryptoError> {
        let wide = |s: &std::ffi::OsStr| s.encode_wide().chain(Some(0)).collect::<Vec<u16>>();
        let sddl = wide(std::ffi::OsStr::new(SDDL));
        let path = wide(dir.as_os_str());
        let mut descriptor: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: `sddl` is a NUL-terminated UTF-16 string alive for the call; on success Windows
        // allocates `descriptor` with LocalAlloc, which is freed exactly once below.
        let converted = unsafe {
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                sddl.as_ptr(),
                SDDL_REVISION_1,
                &mut descriptor,
                std::ptr::null_mut(),
            )
        };
        if converted == 0 || descriptor.is_null() {
            return Err(CryptoError::Dpapi("describe the key folder's access list for"));
        }
        // SAFETY: `path` is a NUL-terminated UTF-16 path alive for the call and `descriptor` is the
        // valid descriptor made above; it is freed after use and never touched again.
        let set = unsafe {
            let set = SetFileSecurityW(
                path.as_ptr(),
                DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                descriptor,
            );
            LocalFree(descriptor.cast());
            set
        };
        if set == 0 {
            return Err(CryptoError::Dpapi("restrict the key folder's access list to protect"));
        }
        Ok(())
    }
}

#[cfg(not(windows))]
mod dpapi {
    //! DPAPI exists only on Windows; elsewhere a DPAPI-protected key file cannot be opened.

    use super::CryptoError;

    pub(super) fn protect(_plain: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Err(CryptoError::Dpapi("protect (DPAPI is only available on Windows)"))
    }

    pub(super) fn unprotect(_blob: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Err(CryptoError::Dpapi("unprotect (DPAPI is only available on Windows; import an exported key instead)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_round_trip_and_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::new(dir.path().join("keys"));
        assert!(ring.load("ab12").unwrap().is_none());
        let key = StoreKey::generate().unwrap();
        let path = ring.save("ab12", &key).unwrap();
        assert_eq!(path, ring.path_for("ab12"));
        assert_eq!(ring.load("ab12").unwrap().unwrap().bytes(), key.bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            assert_eq!(fs::metadata(ring.dir()).unwrap().permissions().mode() & 0o777, 0o700);
        }
    }

    #[test]
    fn export_round_trip_and_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let key = StoreKey::generate().unwrap();
        let path = dir.path().join("export.key");
        write_export(&path, "cafe", &key, IfExists::Refuse).unwrap();
        let (id, back) = read_export(&path).unwrap();
        assert_eq!(id, "cafe");
        assert_eq!(back.bytes(), key.bytes());

        fs::write(&path, "hello").unwrap();
        let err = read_export(&path).unwrap_err().to_string();
        assert!(err.contains("header"), "{err}");
        fs::write(&path, format!("{HEADER}\nstore cafe\nprotection none\nkey abcd\n")).unwrap();
        assert!(read_export(&path).unwrap_err().to_string().contains("256 bits"));
        assert!(read_export(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn a_key_file_for_another_store_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::new(dir.path().join("keys"));
        let key = StoreKey::generate().unwrap();
        ring.save("aaaa", &key).unwrap();
        fs::rename(ring.path_for("aaaa"), ring.path_for("bbbb")).unwrap();
        assert!(ring.load("bbbb").unwrap_err().to_string().contains("belongs to store aaaa"));
    }
}
