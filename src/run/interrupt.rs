//! SIGINT and SIGTERM during a run: the first stops observing, later ones
//! only say that the revert is still running: it is never skipped.

use super::signals::StopSignals;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::watch;

/// A signal asked the run to stop.
#[derive(Clone)]
pub struct Interrupt(watch::Receiver<bool>);

impl Interrupt {
    /// Listens for SIGINT and SIGTERM for the rest of the process.
    pub fn listen(journal: PathBuf) -> Interrupt {
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            let mut signals = StopSignals::new().unwrap_or_else(|_| StopSignals::ctrl_c_only());
            loop {
                signals.next().await;
                if *tx.borrow() {
                    crate::words::errln(format_args!(
                        "gameday: the revert is still running and will not be skipped; journal: {}",
                        journal.display()
                    ));
                }
                let _ = tx.send(true);
            }
        });
        Interrupt(rx)
    }

    /// Whether a signal came.
    pub fn fired(&self) -> bool {
        *self.0.borrow()
    }

    async fn wait(&mut self) {
        let _ = self.0.wait_for(|v| *v).await;
    }

    /// Sleeps, or returns early (true) when interrupted.
    pub async fn sleep(&mut self, d: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(d) => self.fired(),
            _ = self.wait() => true,
        }
    }
}
