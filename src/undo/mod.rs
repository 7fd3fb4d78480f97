//! The one undo executor, used by `gameday run` (its revert) and by
//! `gameday revert` (finishing what a dead run left) alike.
//!
//! For each undo, newest change first:
//! 1. `undo-intent` is journaled (fsync) before the undo is made;
//! 2. the undo is made, and retried with backoff only when the error says a
//!    retry can help (throttled, unreachable, 5xx), never when it is
//!    permanent (denied, not found);
//! 3. the state the undo establishes is checked to hold;
//! 4. only then is `undone` journaled.
//!
//! A journal write that fails is never ignored: the undo is still made from
//! memory (undos are idempotent, and a later `gameday revert` would make it
//! again), and the failure is reported so the run cannot call its revert
//! complete.

use crate::environment::Appliers;
use crate::journal::{Journal, JournalEntry};
use crate::plan::Action;
use crate::words::{Applied, ChangeError};
use std::time::Duration;

/// Who is undoing: names the crash point the kill tests use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// The revert at the end of `gameday run`.
    Run,
    /// `gameday revert`.
    Revert,
}

impl Caller {
    fn crash_point(self) -> &'static str {
        match self {
            Caller::Run => "after-undo-intent",
            Caller::Revert => "revert-after-undo-intent",
        }
    }
}

/// What makes undos and checks that they hold: the environment's appliers,
/// or a fake in unit tests.
#[async_trait::async_trait]
pub trait Changes: Sync {
    /// Makes the undo.
    async fn apply(&self, undo: &Action) -> Result<Applied, ChangeError>;
    /// Checks that the state the undo establishes holds now.
    async fn holds(&self, undo: &Action) -> Result<(), ChangeError>;
}

#[async_trait::async_trait]
impl Changes for Appliers {
    async fn apply(&self, undo: &Action) -> Result<Applied, ChangeError> {
        Appliers::apply(self, undo).await
    }
    async fn holds(&self, undo: &Action) -> Result<(), ChangeError> {
        Appliers::holds(self, undo).await
    }
}

/// How often, and how patiently, a transient failure is tried again, and
/// until when: a revert never waits past its deadline, however the API
/// behaves (refusing, hanging), and says what it still owes.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Wait before the second attempt; doubled before each later one.
    pub first_backoff: Duration,
    /// No attempt runs past this; undos not begun by then are not tried.
    pub deadline: tokio::time::Instant,
}

/// How long a revert keeps trying unless the scenario says otherwise
/// (`revert_timeout`).
pub const DEFAULT_REVERT_TIMEOUT: Duration = Duration::from_secs(300);

impl RetryPolicy {
    /// Four attempts per call, from 500 ms apart, for at most `budget` from now.
    pub fn within(budget: Duration) -> RetryPolicy {
        RetryPolicy {
            attempts: 4,
            first_backoff: Duration::from_millis(500),
            deadline: tokio::time::Instant::now() + budget,
        }
    }

    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        tokio::time::Instant::now() >= self.deadline
    }

    /// Runs `op` until it succeeds, fails permanently, the attempts run out
    /// or the deadline passes (an attempt still waiting then is abandoned).
    pub async fn run<T, F, Fut>(&self, mut op: F) -> Result<T, ChangeError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ChangeError>>,
    {
        let mut backoff = self.first_backoff;
        let mut attempt = 1;
        loop {
            let outcome = match tokio::time::timeout_at(self.deadline, op()).await {
                Ok(outcome) => outcome,
                Err(_) => return Err(ChangeError::transient(OUT_OF_TIME)),
            };
            match outcome {
                Err(e)
                    if e.retryable()
                        && attempt < self.attempts
                        && tokio::time::Instant::now() + backoff < self.deadline =>
                {
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

/// Why a call was abandoned: the revert's deadline passed while it waited.
const OUT_OF_TIME: &str =
    "no answer before the revert's deadline (revert_timeout); the API did not respond in time";

/// What became of one undo.
#[derive(Debug)]
pub struct UndoResult {
    /// The step it undoes (0-based).
    pub step: usize,
    /// The undo in a few words.
    pub summary: String,
    /// Made and verified to hold, or why not.
    pub outcome: Result<Applied, ChangeError>,
    /// A journal write that failed on the way (the undo was still made).
    pub journal_error: Option<String>,
}

impl UndoResult {
    /// Made, verified and journaled.
    pub fn complete(&self) -> bool {
        self.outcome.is_ok() && self.journal_error.is_none()
    }

    /// "step 2", or "the lease": the step as people count it.
    pub fn step_name(&self) -> String {
        if self.step == crate::journal::LEASE_STEP {
            "the lease".into()
        } else {
            format!("step {}", self.step + 1)
        }
    }
}

/// Makes `undos` (step, undo) in the order given, journaled by the rule
/// above. Every undo is tried even when an earlier one failed, as long as
/// the policy's deadline has not passed: as much as possible is put back,
/// in bounded time.
pub async fn undo_all(
    changes: &impl Changes,
    journal: &mut Journal,
    undos: &[(usize, Action)],
    policy: RetryPolicy,
    caller: Caller,
) -> Vec<UndoResult> {
    let mut results = Vec::with_capacity(undos.len());
    for (step, undo) in undos {
        let result = if policy.expired() {
            not_attempted(*step, undo)
        } else {
            undo_one(changes, journal, *step, undo, policy, caller).await
        };
        results.push(result);
    }
    results
}

/// An undo left for later: the deadline passed before its turn. Nothing is
/// journaled, so the journal still owes it.
fn not_attempted(step: usize, undo: &Action) -> UndoResult {
    UndoResult {
        step,
        summary: undo.summary(),
        outcome: Err(ChangeError::transient(
            "not attempted: the revert's deadline (revert_timeout) had passed",
        )),
        journal_error: None,
    }
}

async fn undo_one(
    changes: &impl Changes,
    journal: &mut Journal,
    step: usize,
    undo: &Action,
    policy: RetryPolicy,
    caller: Caller,
) -> UndoResult {
    let mut journal_error = journal_write(journal, &JournalEntry::UndoIntent { step }, undo);
    crate::crash::point(caller.crash_point());
    let outcome = make_and_verify(changes, undo, policy).await;
    if outcome.is_ok() {
        let written = journal_write(journal, &JournalEntry::Undone { step }, undo);
        journal_error = journal_error.or(written);
    }
    UndoResult {
        step,
        summary: undo.summary(),
        outcome,
        journal_error,
    }
}

async fn make_and_verify(
    changes: &impl Changes,
    undo: &Action,
    policy: RetryPolicy,
) -> Result<Applied, ChangeError> {
    let applied = policy.run(|| changes.apply(undo)).await?;
    policy
        .run(|| changes.holds(undo))
        .await
        .map_err(|e| e.context(format!("after {}", undo.summary())))?;
    Ok(applied)
}

fn journal_write(journal: &mut Journal, entry: &JournalEntry, undo: &Action) -> Option<String> {
    journal.append(entry).err().map(|e| {
        format!(
            "the journal {} could not record {} of {} ({e}); the undo was still made from memory",
            journal.path().display(),
            entry.event_name(),
            undo.summary()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::LabCall;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Mutex;

    /// Fails `apply` with `error` the first `failures` times, and records
    /// what it was asked.
    struct Fake {
        error: ChangeError,
        failures: u32,
        applies: AtomicU32,
        holds_ok: bool,
        log: Mutex<Vec<String>>,
    }

    impl Fake {
        fn new(error: ChangeError, failures: u32) -> Fake {
            Fake {
                error,
                failures,
                applies: AtomicU32::new(0),
                holds_ok: true,
                log: Mutex::new(Vec::new()),
            }
        }
    }

    #[async_trait::async_trait]
    impl Changes for Fake {
        async fn apply(&self, undo: &Action) -> Result<Applied, ChangeError> {
            let n = self.applies.fetch_add(1, Ordering::SeqCst);
            self.log
                .lock()
                .unwrap()
                .push(format!("apply {}", undo.summary()));
            if self.error.message == "hang" {
                std::future::pending::<()>().await;
            }
            if n < self.failures {
                return Err(self.error.clone());
            }
            Ok(Applied {
                effective_at: 1,
                changed: true,
            })
        }
        async fn holds(&self, _undo: &Action) -> Result<(), ChangeError> {
            if self.holds_ok {
                Ok(())
            } else {
                Err(ChangeError::permanent("target i-1 is still deregistered"))
            }
        }
    }

    fn undo(region: &str) -> Action {
        Action::Lab(LabCall::RestoreDatabase {
            region: region.into(),
        })
    }

    fn fast() -> RetryPolicy {
        RetryPolicy {
            first_backoff: Duration::from_millis(1),
            ..RetryPolicy::within(Duration::from_secs(60))
        }
    }

    fn journal(name: &str) -> (std::path::PathBuf, Journal) {
        let dir = std::env::temp_dir().join(format!("gameday-undo-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("journal.jsonl");
        let j = Journal::create(&path).unwrap();
        (dir, j)
    }

    fn events(dir: &std::path::Path) -> Vec<String> {
        crate::journal::read(&dir.join("journal.jsonl"))
            .unwrap()
            .iter()
            .map(|e| e.event_name().to_string())
            .collect()
    }

    /// Undoes one step with `fake` into a fresh journal; returns the result
    /// and the journal's events.
    async fn undo_once(name: &str, fake: &Fake) -> (UndoResult, Vec<String>) {
        let (dir, mut j) = journal(name);
        let mut r = undo_all(fake, &mut j, &[(0, undo("a"))], fast(), Caller::Run).await;
        let written = events(&dir);
        let _ = std::fs::remove_dir_all(dir);
        (r.remove(0), written)
    }

    #[tokio::test]
    async fn a_permanent_error_is_tried_once() {
        let fake = Fake::new(ChangeError::permanent("AccessDenied"), 10);
        let (r, written) = undo_once("permanent", &fake).await;
        assert_eq!(fake.applies.load(Ordering::SeqCst), 1);
        assert!(!r.complete());
        assert_eq!(written, vec!["undo-intent"], "no undone for a failed undo");
    }

    #[tokio::test]
    async fn a_throttling_error_is_retried_until_it_passes() {
        let fake = Fake::new(ChangeError::transient("Throttling: Rate exceeded"), 2);
        let (r, written) = undo_once("throttled", &fake).await;
        assert_eq!(fake.applies.load(Ordering::SeqCst), 3);
        assert!(r.complete());
        assert_eq!(written, vec!["undo-intent", "undone"]);
    }

    #[tokio::test]
    async fn retries_are_bounded() {
        let fake = Fake::new(ChangeError::transient("Throttling"), 100);
        let (r, _) = undo_once("bounded", &fake).await;
        assert_eq!(fake.applies.load(Ordering::SeqCst), 4);
        assert!(r.outcome.unwrap_err().retryable());
    }

    #[tokio::test]
    async fn undone_is_journaled_only_once_the_state_holds() {
        let mut fake = Fake::new(ChangeError::permanent("x"), 0);
        fake.holds_ok = false;
        let (r, written) = undo_once("holds", &fake).await;
        let err = r.outcome.unwrap_err().to_string();
        assert!(err.contains("still deregistered"), "{err}");
        assert_eq!(written, vec!["undo-intent"]);
    }

    #[tokio::test]
    async fn every_undo_is_tried_after_one_fails() {
        let (dir, mut j) = journal("all");
        let fake = Fake::new(ChangeError::permanent("AccessDenied"), 1);
        let undos = [(1, undo("b")), (0, undo("a"))];
        let r = undo_all(&fake, &mut j, &undos, fast(), Caller::Run).await;
        assert!(!r[0].complete());
        assert!(r[1].complete());
        let expected: Vec<String> = undos
            .iter()
            .map(|(_, u)| format!("apply {}", u.summary()))
            .collect();
        assert_eq!(*fake.log.lock().unwrap(), expected);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_journal_that_cannot_be_written_is_reported_and_the_undo_still_made() {
        let (dir, mut j) = journal("unwritable");
        // Make the journal's file descriptor refuse writes.
        j.poison_for_tests();
        let fake = Fake::new(ChangeError::permanent("x"), 0);
        let r = undo_all(&fake, &mut j, &[(0, undo("a"))], fast(), Caller::Run).await;
        assert_eq!(fake.applies.load(Ordering::SeqCst), 1);
        assert!(r[0].outcome.is_ok());
        assert!(!r[0].complete());
        assert!(r[0]
            .journal_error
            .as_ref()
            .unwrap()
            .contains("could not record undo-intent"));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_hung_api_is_abandoned_at_the_deadline_and_later_undos_are_left_owed() {
        let (dir, mut j) = journal("hung");
        let fake = Fake::new(ChangeError::transient("hang"), 0);
        let policy = RetryPolicy::within(Duration::from_millis(300));
        let undos = [(1, undo("b")), (0, undo("a"))];
        let started = tokio::time::Instant::now();
        let r = undo_all(&fake, &mut j, &undos, policy, Caller::Run).await;
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(5),
            "{took:?}"
        );
        assert_eq!(fake.applies.load(Ordering::SeqCst), 1, "one hung call");
        let first = r[0].outcome.as_ref().unwrap_err();
        assert!(
            first.retryable() && first.to_string().contains("deadline"),
            "{first}"
        );
        let second = r[1].outcome.as_ref().unwrap_err().to_string();
        assert!(second.starts_with("not attempted"), "{second}");
        // Only the first undo's intent: the journal still owes both.
        assert_eq!(events(&dir), vec!["undo-intent"]);
        let _ = std::fs::remove_dir_all(dir);
    }
}
