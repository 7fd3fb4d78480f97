//! Files gameday writes, often as root, into folders others may share: run
//! folders are made fresh at 0700 (never reused), files in them are made
//! fresh at 0600 and never through a symlink, and the folder that holds run
//! folders must belong to the invoking user and be writable by nobody else,
//! or whoever controls it could redirect root's writes.
//!
//! Reading is as careful: a journal is trusted only when it is a regular file
//! (not a symlink) owned by the invoking user and writable by nobody else.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The invoking user (effective uid).
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Why a file or folder is not one gameday may trust.
#[derive(Debug, thiserror::Error)]
pub enum Untrusted {
    /// It cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// It is something else than expected, or someone else's.
    #[error("{path}: {why}; {fix}")]
    Refused {
        /// The path.
        path: PathBuf,
        /// What is wrong.
        why: String,
        /// What to do.
        fix: String,
    },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> Untrusted + '_ {
    move |source| Untrusted::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Checks that `path` is a `kind` (not a symlink), owned by the invoking user
/// and not writable by group or others.
fn check_private(path: &Path, want_dir: bool) -> Result<std::fs::Metadata, Untrusted> {
    let meta = std::fs::symlink_metadata(path).map_err(io_error(path))?;
    let refused = |why: String, fix: &str| Untrusted::Refused {
        path: path.to_path_buf(),
        why,
        fix: fix.into(),
    };
    let kind_ok = if want_dir {
        meta.file_type().is_dir()
    } else {
        meta.file_type().is_file()
    };
    if !kind_ok {
        let want = if want_dir {
            "a folder"
        } else {
            "a regular file"
        };
        return Err(refused(
            format!("is not {want} (a symlink or something else)"),
            "gameday never follows links here; point it at the real path",
        ));
    }
    if meta.uid() != euid() {
        return Err(refused(
            format!(
                "belongs to uid {}, not to the invoking user (uid {})",
                meta.uid(),
                euid()
            ),
            "use a folder of your own (e.g. one made with `mkdir -m 700`)",
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(refused(
            format!("is writable by others (mode {:o})", meta.mode() & 0o7777),
            "remove group and other write permission (chmod go-w)",
        ));
    }
    Ok(meta)
}

/// A journal (or any file gameday acts on) that only the invoking user could
/// have written.
pub fn check_private_file(path: &Path) -> Result<(), Untrusted> {
    check_private(path, false).map(drop)
}

/// A folder that only the invoking user can write into.
pub fn check_private_dir(path: &Path) -> Result<(), Untrusted> {
    check_private(path, true).map(drop)
}

/// The folder that holds run folders: made at 0700 when missing, and checked
/// to be the invoking user's and writable by nobody else.
pub fn reports_folder(dir: &Path) -> Result<(), Untrusted> {
    if std::fs::symlink_metadata(dir).is_err() {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_error(dir))?;
    }
    check_private_dir(dir)
}

/// Bytes a write check puts on the disk: the room a journal reserves. The
/// reports need more, but a disk without this much room (or a read-only
/// one) is found here, before anything changes.
const WRITE_CHECK_BYTES: usize = crate::journal::RESERVED_BYTES as usize;

/// Checks that files can be written and synced in `dir` (not read-only, not
/// full) by writing and removing a scratch file, before a run changes anything.
pub fn check_writable(dir: &Path) -> Result<(), Untrusted> {
    let probe = dir.join(format!(".gameday-write-check-{}", std::process::id()));
    let written = create_new(&probe).and_then(|mut f| {
        io::Write::write_all(&mut f, &[0u8; WRITE_CHECK_BYTES])?;
        f.sync_all()
    });
    let _ = std::fs::remove_file(&probe);
    written.map_err(io_error(dir))
}

/// A new run folder `reports/id` at 0700; fails when anything is already
/// there (a folder, a file or a symlink), so no run reuses another's.
pub fn run_folder(reports: &Path, id: &str) -> Result<PathBuf, Untrusted> {
    reports_folder(reports)?;
    let dir = reports.join(id);
    DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(io_error(&dir))?;
    Ok(dir)
}

/// A new file at 0600; fails when anything is already at `path`, symlinks
/// included.
pub fn create_new(path: &Path) -> io::Result<File> {
    create_new_with_mode(path, 0o600)
}

fn create_new_with_mode(path: &Path, mode: u32) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// Writes a new 0600 file with `contents`. A file that could not be written
/// whole (a full disk) is removed: never a truncated file in its place.
pub fn write_new(path: &Path, contents: &[u8]) -> io::Result<()> {
    write_new_with_mode(path, contents, 0o600)
}

fn write_new_with_mode(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let mut f = create_new_with_mode(path, mode)?;
    let written = io::Write::write_all(&mut f, contents).and_then(|()| f.sync_data());
    if written.is_err() {
        let _ = std::fs::remove_file(path);
    }
    written
}

/// Replaces `path` atomically with a 0644 file holding `contents`, for a
/// file another user's process reads (metrics).
pub fn replace_readable(path: &Path, contents: &[u8]) -> io::Result<()> {
    replace_with_mode(path, contents, 0o644)
}

/// Replaces `path` atomically with a 0600 file holding `contents` (a page
/// that is rewritten on every call, like the fleet's index.html).
pub fn replace_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    replace_with_mode(path, contents, 0o600)
}

/// A fresh temporary file beside `path`, written as [`write_new`] writes,
/// then renamed over it: a reader never sees half a file.
fn replace_with_mode(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let temp = dir.join(format!(".{}.{}.tmp", name.to_string_lossy(), random_hex(8)));
    write_new_with_mode(&temp, contents, mode)?;
    std::fs::rename(&temp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

/// Opens an existing file for appending, never through a symlink.
pub fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .append(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// Opens an existing file for reading, never through a symlink.
pub fn open_read(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// Fsyncs a folder, so a file just created in it survives a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// A fresh private folder under `parent` (mkdtemp: a random name, made at
/// 0700, failing rather than reusing anything already there).
pub fn temp_dir(parent: &Path, prefix: &str) -> io::Result<PathBuf> {
    for _ in 0..16 {
        let dir = parent.join(format!("{prefix}{}", random_hex(8)));
        match DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("no free temporary name under {}", parent.display()),
    ))
}

/// `bytes` random bytes from the operating system, as hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the operating system's random source works");
    hex::encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("gameday-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn run_folders_are_private_fresh_and_never_reused() {
        let reports = scratch("runs");
        let run = run_folder(&reports, "r1").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&reports), 0o700);
        assert_eq!(mode(&run), 0o700);
        assert!(
            run_folder(&reports, "r1").is_err(),
            "an existing run folder is reused"
        );
        write_new(&run.join("report.json"), b"{}").unwrap();
        assert_eq!(mode(&run.join("report.json")), 0o600);
        assert!(write_new(&run.join("report.json"), b"{}").is_err());
        let _ = std::fs::remove_dir_all(reports);
    }

    #[test]
    fn symlinks_and_shared_folders_are_refused() {
        let dir = scratch("links");
        reports_folder(&dir).unwrap();
        let target = dir.join("target");
        std::fs::write(&target, "x").unwrap();
        std::os::unix::fs::symlink(&target, dir.join("link")).unwrap();
        assert!(create_new(&dir.join("link")).is_err());
        assert!(open_append(&dir.join("link")).is_err());
        assert!(check_private_file(&dir.join("link")).is_err());
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let why = reports_folder(&dir).unwrap_err().to_string();
        assert!(why.contains("writable by others"), "{why}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn temporary_folders_have_unpredictable_names() {
        let parent = scratch("tmp");
        std::fs::create_dir_all(&parent).unwrap();
        let a = temp_dir(&parent, "x-").unwrap();
        let b = temp_dir(&parent, "x-").unwrap();
        assert_ne!(a, b);
        assert_eq!(
            std::fs::metadata(&a).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let _ = std::fs::remove_dir_all(parent);
    }
}
