//! `--metrics-file` / `[metrics] file`: OpenMetrics text for node_exporter's
//! textfile collector.

use super::Publisher;
use crate::report::{metrics::OpenMetrics, Format, Report};
use crate::words::ChangeError;
use std::path::PathBuf;

/// The metrics file.
pub struct MetricsFile {
    /// Where it goes.
    pub path: PathBuf,
}

#[async_trait::async_trait]
impl Publisher for MetricsFile {
    fn failed(&self) -> String {
        format!("cannot write the metrics file {}", self.path.display())
    }

    /// Written to a new file beside it, then renamed over it, so a collector
    /// never reads half a file. 0644: it holds figures only, and the
    /// collector reads it as another user.
    async fn publish(&self, r: &Report) -> Result<(), ChangeError> {
        let text = OpenMetrics.render(r);
        crate::files::replace_readable(&self.path, text.as_bytes())
            .map_err(|e| ChangeError::permanent(e.to_string()))
    }
}
