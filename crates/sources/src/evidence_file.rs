//! Opening a file from an evidence folder. The folder may come from a
//! compromised server: a "file" can be a FIFO (opening it for reading waits
//! for a writer forever), a symlink to `/dev/zero` (endless), or simply huge.
//! Every reader opens evidence here: without blocking, checked on the open
//! descriptor to be a regular file, and within a size cap.
//!
//! Secret files (passwords, client secrets, private keys) are opened here
//! too, with stricter rules: see [`read_private`].

mod owner_only;

pub use owner_only::dacl_exposure;

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Size caps: far above any real file of the kind, low enough that a hostile
/// one cannot take the machine's memory.
pub mod cap {
    /// An event log is streamed, so only time is at stake.
    pub const EVENT_LOG: u64 = 4 << 30;
    /// One file of the configuration export (a large AD connector is a few MB).
    pub const EXPORT_FILE: u64 = 256 << 20;
    /// A cmdlet's JSON output.
    pub const CMDLET_JSON: u64 = 64 << 20;
    /// A phs-doctor config file.
    pub const CONFIG: u64 = 1 << 20;
    /// A snapshot written by `collect` (it holds a week of events at most).
    pub const SNAPSHOT: u64 = 2 << 30;
    /// An audit's summary (`audit -f json`): counts, a line per domain.
    pub const AUDIT_SUMMARY: u64 = 16 << 20;
    /// A password, client secret or PEM key with its certificate chain.
    pub const SECRET: u64 = 1 << 20;
}

/// Opens `path` for reading: refuses anything but a regular file (after
/// following symlinks, as the user named it) and anything over `max` bytes.
/// The error is one line naming the reason.
pub fn open(path: &Path, max: u64) -> Result<File, String> {
    let file = open_nonblocking(path, Follow::Yes).map_err(|e| format!("cannot open: {e}"))?;
    let meta = file.metadata().map_err(|e| format!("cannot read its metadata: {e}"))?;
    check_regular(&meta, max)?;
    Ok(file)
}

/// Reads a whole file through [`open`]. The read stops at `max` bytes even
/// if the file grows after the check.
pub fn read(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    read_all(open(path, max)?, max)
}

/// Reads a file holding a secret. It is opened once, without following a
/// symbolic link (the path must name the file itself, so nobody can swap
/// in a link to another file) and without blocking, and the open
/// descriptor is checked: a regular file within `max` bytes, which only
/// its owner can read. On Unix that is the user running phs-doctor, with
/// no group or other permission bits; on Windows the DACL may let only the
/// owner, SYSTEM and Administrators read it. The error is one line naming
/// the reason; it never holds the file's content.
pub fn read_private(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    let file = open_nonblocking(path, Follow::No).map_err(|e| {
        if is_symlink_refusal(&e) {
            "a symbolic link: refused (name the file itself, not a link to it)".to_owned()
        } else {
            format!("cannot open: {e}")
        }
    })?;
    let meta = file.metadata().map_err(|e| format!("cannot read its metadata: {e}"))?;
    if meta.file_type().is_symlink() {
        // Windows opens the link itself (FILE_FLAG_OPEN_REPARSE_POINT).
        return Err("a symbolic link: refused (name the file itself, not a link to it)".to_owned());
    }
    check_regular(&meta, max)?;
    check_owner_only(&file, &meta)?;
    read_all(file, max)
}

fn check_regular(meta: &std::fs::Metadata, max: u64) -> Result<(), String> {
    if !meta.is_file() {
        return Err(format!("not a regular file ({}): refused", kind_of(meta)));
    }
    if meta.len() > max {
        return Err(format!("{} bytes, over the {} byte limit for this kind of file: refused", meta.len(), max));
    }
    Ok(())
}

#[cfg(unix)]
fn check_owner_only(_file: &File, meta: &std::fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(format!(
            "owned by uid {}, not by the user running phs-doctor (uid {me}): refused; chown it or run as its owner",
            meta.uid()
        ));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!("group or others have access (mode {mode:03o}): refused; chmod 600 it"));
    }
    Ok(())
}

#[cfg(windows)]
fn check_owner_only(file: &File, _meta: &std::fs::Metadata) -> Result<(), String> {
    let sd = owner_only::descriptor_of(file)?;
    match dacl_exposure(&sd) {
        None => Ok(()),
        Some(who) => Err(format!(
            "{who} may read it: refused; allow only your account, SYSTEM and Administrators \
             (icacls FILE /inheritance:r /grant:r \"%USERNAME%:R\")"
        )),
    }
}

#[cfg(not(any(unix, windows)))]
fn check_owner_only(_file: &File, _meta: &std::fs::Metadata) -> Result<(), String> {
    Err("this platform has no owner-only check for secret files: refused".to_owned())
}

fn read_all(file: File, max: u64) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1)).read_to_end(&mut bytes).map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > max {
        return Err(format!("grew over the {max} byte limit while being read: refused"));
    }
    Ok(bytes)
}

/// Whether the last component of the path may be a symbolic link.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Follow {
    Yes,
    No,
}

#[cfg(unix)]
fn open_nonblocking(path: &Path, follow: Follow) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK: opening a FIFO then returns at once instead of waiting
    // for a writer; for a regular file it changes nothing on Linux or macOS.
    let mut flags = libc::O_NONBLOCK;
    if follow == Follow::No {
        flags |= libc::O_NOFOLLOW;
    }
    std::fs::OpenOptions::new().read(true).custom_flags(flags).open(path)
}

#[cfg(windows)]
fn open_nonblocking(path: &Path, follow: Follow) -> io::Result<File> {
    use std::os::windows::fs::OpenOptionsExt;
    // FILE_FLAG_OPEN_REPARSE_POINT opens a symbolic link itself, so the
    // metadata check sees the link instead of its target.
    const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    if follow == Follow::No {
        options.custom_flags(FILE_FLAG_OPEN_REPARSE_POINT);
    }
    options.open(path)
}

#[cfg(not(any(unix, windows)))]
fn open_nonblocking(path: &Path, _follow: Follow) -> io::Result<File> {
    File::open(path)
}

/// O_NOFOLLOW on a link fails with ELOOP (Linux, macOS) or EMLINK (FreeBSD).
fn is_symlink_refusal(e: &io::Error) -> bool {
    #[cfg(unix)]
    {
        matches!(e.raw_os_error(), Some(code) if code == libc::ELOOP || code == libc::EMLINK)
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if meta.is_dir() {
        "a folder"
    } else {
        "not a regular file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_within_the_cap_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        std::fs::write(&p, b"{}").unwrap();
        assert_eq!(read(&p, 10).unwrap(), b"{}");
        assert!(read(&p, 1).unwrap_err().contains("over the 1 byte limit"));
    }

    #[cfg(unix)]
    #[test]
    fn devices_fifos_and_folders_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("zero.evtx");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        assert!(read(&link, 1 << 30).unwrap_err().contains("character device"));
        let fifo = dir.path().join("fifo.xml");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo reads a NUL-terminated path and has no other effect.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(read(&fifo, 1 << 30).unwrap_err().contains("a FIFO"));
        assert!(read(dir.path(), 1 << 30).unwrap_err().contains("a folder"));
    }

    #[cfg(unix)]
    fn private_file(dir: &Path, name: &str, mode: u32) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(name);
        std::fs::write(&p, b"Lab-Passw0rd!").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[cfg(unix)]
    #[test]
    fn a_private_file_is_read_and_its_mode_must_be_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        for mode in [0o600, 0o400, 0o700] {
            let p = private_file(dir.path(), &format!("ok{mode:o}"), mode);
            assert_eq!(read_private(&p, cap::SECRET).unwrap(), b"Lab-Passw0rd!", "mode {mode:o}");
        }
        for (mode, shown) in [(0o640, "640"), (0o604, "604"), (0o660, "660"), (0o610, "610"), (0o602, "602")] {
            let p = private_file(dir.path(), &format!("open{mode:o}"), mode);
            let e = read_private(&p, cap::SECRET).unwrap_err();
            assert!(e.contains(&format!("(mode {shown})")) && e.contains("chmod 600"), "{e}");
            assert!(!e.contains("Passw0rd"), "{e}");
        }
        let big = private_file(dir.path(), "big", 0o600);
        assert!(read_private(&big, 4).unwrap_err().contains("over the 4 byte limit"));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_to_a_private_file_are_refused_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = private_file(dir.path(), "real", 0o600);
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = read_private(&link, cap::SECRET).unwrap_err();
        assert!(e.contains("symbolic link"), "{e}");
        // Also a link to a device: refused before anything is read.
        let zero = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        assert!(read_private(&zero, cap::SECRET).unwrap_err().contains("symbolic link"));
        // The evidence reader still follows links, as the user named them.
        assert_eq!(read(&link, 100).unwrap(), b"Lab-Passw0rd!");
    }

    #[cfg(unix)]
    #[test]
    fn fifos_devices_and_folders_are_refused_as_secret_files_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo reads a NUL-terminated path and has no other effect.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // Nobody ever writes to it: a blocking open would hang this test.
        assert!(read_private(&fifo, cap::SECRET).unwrap_err().contains("a FIFO"));
        assert!(read_private(Path::new("/dev/null"), cap::SECRET).unwrap_err().contains("character device"));
        assert!(read_private(dir.path(), cap::SECRET).unwrap_err().contains("a folder"));
        assert!(read_private(&dir.path().join("missing"), cap::SECRET).unwrap_err().starts_with("cannot open"));
    }

    #[cfg(unix)]
    #[test]
    fn a_secret_file_owned_by_someone_else_is_refused() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: only root can give a file to another user (CI runs as root)");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        for uid in [65534, 1000] {
            let p = private_file(dir.path(), &format!("theirs{uid}"), 0o600);
            std::os::unix::fs::chown(&p, Some(uid), None).unwrap();
            let e = read_private(&p, cap::SECRET).unwrap_err();
            assert!(e.contains(&format!("owned by uid {uid}")) && e.contains("(uid 0)"), "{e}");
        }
        // Another group with mode 600 is fine: the group has no bits.
        let p = private_file(dir.path(), "group", 0o600);
        std::os::unix::fs::chown(&p, None, Some(65534)).unwrap();
        assert!(read_private(&p, cap::SECRET).is_ok());
    }
}
