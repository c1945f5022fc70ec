//! Opening a file from an evidence folder. The folder may come from a
//! compromised server: a "file" can be a FIFO (opening it for reading waits
//! for a writer forever), a symlink to `/dev/zero` (endless), or simply huge.
//! Every reader opens evidence here: without blocking, checked on the open
//! descriptor to be a regular file, and within a size cap.

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
}

/// Opens `path` for reading: refuses anything but a regular file (after
/// following symlinks, as the user named it) and anything over `max` bytes.
/// The error is one line naming the reason.
pub fn open(path: &Path, max: u64) -> Result<File, String> {
    let file = open_nonblocking(path).map_err(|e| format!("cannot open: {e}"))?;
    let meta = file.metadata().map_err(|e| format!("cannot read its metadata: {e}"))?;
    if !meta.is_file() {
        return Err(format!("not a regular file ({}): refused", kind_of(&meta)));
    }
    if meta.len() > max {
        return Err(format!("{} bytes, over the {} byte limit for this kind of evidence: refused", meta.len(), max));
    }
    Ok(file)
}

/// Reads a whole file through [`open`]. The read stops at `max` bytes even
/// if the file grows after the check.
pub fn read(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    let file = open(path, max)?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1)).read_to_end(&mut bytes).map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > max {
        return Err(format!("grew over the {max} byte limit while being read: refused"));
    }
    Ok(bytes)
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK: opening a FIFO then returns at once instead of waiting
    // for a writer; for a regular file it changes nothing on Linux or macOS.
    std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    File::open(path)
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
}
