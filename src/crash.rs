//! Named crash points for the kill tests: they prove that `gameday revert`
//! finishes whatever a run was doing when it died.
//!
//! Built on the `fail` crate and compiled in only with the `failpoints`
//! feature (which `scripts/test` turns on): the binary users build cannot
//! kill itself. With the feature, `FAILPOINTS=after-intent=return` makes the
//! process SIGKILL itself at that point. The points: `after-intent`,
//! `after-apply`, `observing`, `after-undo-intent`, `revert-after-undo-intent`,
//! `before-report`. `point=sleep(ms)` pauses there instead, for tests that
//! act on the environment at that moment.

/// Dies here (SIGKILL, nothing runs after it) when the tests ask for it.
pub fn point(name: &str) {
    #[cfg(not(feature = "failpoints"))]
    let _ = name;
    fail::fail_point!(name, |_| {
        // SAFETY: signalling ourselves; SIGKILL cannot be caught.
        unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    });
}

/// Reads `FAILPOINTS` once at start (with the `failpoints` feature only).
/// Keep the returned guard alive for the whole process.
#[cfg(feature = "failpoints")]
pub fn setup() -> fail::FailScenario<'static> {
    fail::FailScenario::setup()
}

/// Fails here with "No space left on device" when the tests ask
/// (`journal-append=4*off->return`: the fifth append and every later one
/// fail, as on a disk that filled up). Inert without the feature.
pub fn io_fault(name: &str) -> std::io::Result<()> {
    #[cfg(not(feature = "failpoints"))]
    let _ = name;
    fail::fail_point!(name, |_| Err(std::io::Error::from_raw_os_error(
        libc::ENOSPC
    )));
    Ok(())
}
