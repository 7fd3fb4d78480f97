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

#[test]
fn a_reports_path_that_cannot_hold_a_journal_is_refused_before_anything_starts() {
    // Under a regular file.
    let dir = scratch("reports-under-a-file");
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    let out = run_scenario("kill-primary-targets", &file.join("reports"), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr,
        format!(
            "gameday: refusing to start: the reports folder {}: Not a directory (os error 20); the journal must be written before anything changes: pass --reports with a folder of your own on a writable disk with room\n",
            file.join("reports").display()
        )
    );
    assert!(out.stdout.is_empty(), "nothing ran: {}", explain(&out));
    // On a full disk: a 32 KiB tmpfs in a mount namespace of the run's own.
    if unsafe { libc::geteuid() } != 0 {
        skip(&test_name(), "mounting a tmpfs needs root");
        return;
    }
    let mount = dir.join("full");
    std::fs::create_dir_all(&mount).unwrap();
    let script = format!(
        "mount -t tmpfs -o size=32k,mode=0700 gameday-full {m} && exec \"$0\" run scenarios/kill-primary-targets.toml --no-progress --reports {m}/reports",
        m = mount.display()
    );
    let out = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .arg(env!("CARGO_BIN_EXE_gameday"))
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "the reports folder {}/reports: No space left on device",
            mount.display()
        )) && stderr.contains("on a writable disk with room"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing ran: {}", explain(&out));
    let _ = std::fs::remove_dir_all(dir);
}
