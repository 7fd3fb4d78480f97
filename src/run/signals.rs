//! SIGINT and SIGTERM as one stream of "please stop", for a run and for a
//! standing lab alike.

/// The signals that ask gameday to stop.
pub struct StopSignals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    /// Listens for SIGINT and SIGTERM; fails when SIGTERM cannot be listened for.
    pub fn new() -> std::io::Result<StopSignals> {
        Ok(StopSignals {
            #[cfg(unix)]
            term: Some(tokio::signal::unix::signal(
                tokio::signal::unix::SignalKind::terminate(),
            )?),
        })
    }

    /// Listens for SIGINT only (where SIGTERM could not be registered).
    pub fn ctrl_c_only() -> StopSignals {
        StopSignals {
            #[cfg(unix)]
            term: None,
        }
    }

    /// Resolves at the next SIGINT or SIGTERM.
    pub async fn next(&mut self) {
        #[cfg(unix)]
        let terminated = async {
            match self.term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminated = std::future::pending::<()>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminated => {}
        }
    }
}
