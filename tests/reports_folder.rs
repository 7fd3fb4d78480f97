//! Where a run writes, when gameday runs as root and the reports folder may
//! be shared: a folder someone else controls is refused before anything
//! starts; run folders are 0700 and their files 0600, made fresh.

mod common;
use common::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

#[test]
fn a_reports_folder_someone_else_controls_is_refused_before_anything_starts() {
    let shared = scratch("shared-reports");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    // Owned by another user, writable by all: that user could swap a run
    // folder for a symlink to /etc between root's writes.
    std::os::unix::fs::chown(&shared, Some(65534), Some(65534)).unwrap();
    let out = run_scenario("kill-primary-targets", &shared, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("belongs to uid 65534"), "{stderr}");
    // A symlink in place of the reports folder is refused too.
    let link = scratch("linked-reports");
    std::fs::remove_dir(&link).unwrap();
    std::os::unix::fs::symlink("/etc", &link).unwrap();
    let out = run_scenario("kill-primary-targets", &link, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("symlink"));
    let entries: Vec<_> = std::fs::read_dir(&shared).unwrap().collect();
    assert!(entries.is_empty(), "something was written: {entries:?}");
    let _ = std::fs::remove_file(link);
    let _ = std::fs::remove_dir_all(shared);
}

#[test]
fn run_folders_are_private_and_fresh() {
    // A reports folder gameday makes itself.
    let parent = scratch("private-reports");
    let reports = parent.join("new");
    let out = run_scenario("kill-primary-targets", &reports, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let run = only_run_dir(&reports);
    let mode = |p: &std::path::Path| std::fs::symlink_metadata(p).unwrap().mode() & 0o777;
    assert_eq!(mode(&reports), 0o700);
    assert_eq!(mode(&run), 0o700);
    let files: Vec<_> = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(files.len() >= 5, "{files:?}");
    for f in files {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
    let _ = std::fs::remove_dir_all(parent);
}
