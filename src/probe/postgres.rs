//! One PostgreSQL connection the canary keeps open on AWS, opened from the
//! connection string in an environment variable: the customers' writer
//! endpoint, and with `both_writers`, the old primary region's writer and the
//! standby region's cluster endpoint. The connection string never appears in
//! output or reports: it holds a password.

use std::path::PathBuf;
use tokio_postgres::error::SqlState;
use tokio_postgres::Client;

/// Why a statement did not commit.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// The database answered and refused (read-only, shut down, ...).
    Refused(String),
    /// No answer from the database: it may take writes or not.
    Unreached(String),
}

impl Refusal {
    /// The reason, in one line.
    pub fn text(&self) -> &str {
        match self {
            Refusal::Refused(t) | Refusal::Unreached(t) => t,
        }
    }
}

/// A connection opened on first use and again after it broke.
pub struct Connection {
    /// The environment variable that holds the connection string.
    var: String,
    /// A PEM bundle to trust besides the system's roots.
    ca_file: Option<PathBuf>,
    client: tokio::sync::Mutex<Option<Client>>,
}

impl Connection {
    /// A connection through `$var`, not opened yet.
    pub fn new(var: &str, ca_file: Option<PathBuf>) -> Connection {
        Connection {
            var: var.to_string(),
            ca_file,
            client: tokio::sync::Mutex::new(None),
        }
    }

    /// Inserts one canary record; a broken connection is opened anew on the
    /// next call, as an app would.
    pub async fn insert(&self, run_id: &str, seq: u64) -> Result<(), Refusal> {
        let mut guard = self.open().await?;
        let client = guard.as_ref().expect("opened");
        let outcome = client
            .execute(
                "INSERT INTO gameday_canary (run_id, seq) VALUES ($1, $2)",
                &[&run_id, &(seq as i64)],
            )
            .await;
        match outcome {
            Ok(_) => Ok(()),
            Err(e) => {
                if client.is_closed() {
                    *guard = None;
                }
                Err(refusal(&e))
            }
        }
    }

    /// Every sequence number of `run_id` the database holds.
    pub async fn read_back(&self, run_id: &str) -> Result<Vec<u64>, String> {
        let mut guard = self.open().await.map_err(|r| r.text().to_string())?;
        let client = guard.as_ref().expect("opened");
        let rows = client
            .query(
                "SELECT seq FROM gameday_canary WHERE run_id = $1 ORDER BY seq",
                &[&run_id],
            )
            .await;
        match rows {
            Ok(rows) => Ok(rows.iter().map(|r| r.get::<_, i64>(0) as u64).collect()),
            Err(e) => {
                *guard = None;
                Err(chain(&e))
            }
        }
    }

    /// Drops the connection: the next call opens a new one.
    pub async fn reset(&self) {
        *self.client.lock().await = None;
    }

    /// The open connection, or a new one. The canary table is created where
    /// it can be: a standby or a fenced writer refuses, and the connection is
    /// kept all the same (its inserts are refused the same way).
    async fn open(&self) -> Result<tokio::sync::MutexGuard<'_, Option<Client>>, Refusal> {
        let mut guard = self.client.lock().await;
        if guard.is_some() {
            return Ok(guard);
        }
        let var = &self.var;
        let dsn = std::env::var(var).map_err(|_| {
            Refusal::Unreached(format!(
                "${var} is not set; export the connection string in it"
            ))
        })?;
        let tls =
            crate::net::tls::client_config(self.ca_file.as_deref()).map_err(Refusal::Unreached)?;
        let tls = tokio_postgres_rustls::MakeRustlsConnect::new((*tls).clone());
        // The error text of a failed connection never includes the string itself.
        let (client, connection) = connection_config(&dsn, var)
            .map_err(Refusal::Unreached)?
            .connect(tls)
            .await
            .map_err(|e| Refusal::Unreached(format!("connecting through ${var}: {}", chain(&e))))?;
        tokio::spawn(connection);
        let created = client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS gameday_canary (
                    run_id text NOT NULL,
                    seq bigint NOT NULL,
                    written_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (run_id, seq))",
            )
            .await;
        if let Err(e) = created {
            if e.code() != Some(&SqlState::READ_ONLY_SQL_TRANSACTION) {
                return Err(Refusal::Unreached(format!(
                    "creating gameday_canary through ${var}: {}",
                    chain(&e)
                )));
            }
        }
        *guard = Some(client);
        Ok(guard)
    }
}

/// A refusal when the server answered, else no answer.
fn refusal(e: &tokio_postgres::Error) -> Refusal {
    if e.as_db_error().is_some() {
        Refusal::Refused(chain(e))
    } else {
        Refusal::Unreached(chain(e))
    }
}

/// The connection string in `$var`, with TLS required when it names no
/// `sslmode` (libpq's default, `prefer`, falls back to plain text when TLS is
/// refused, which anyone on the path can do). The error never quotes the
/// string: it holds a password.
pub fn connection_config(dsn: &str, var: &str) -> Result<tokio_postgres::Config, String> {
    let mut config: tokio_postgres::Config = dsn.parse().map_err(|_| {
        format!("the connection string in ${var} cannot be parsed; use key=value pairs (host=... user=... dbname=...) or a postgresql:// URL")
    })?;
    if !dsn.to_ascii_lowercase().contains("sslmode") {
        config.ssl_mode(tokio_postgres::config::SslMode::Require);
    }
    Ok(config)
}

/// An error and its causes, in one line ("error performing TLS handshake:
/// server does not support TLS").
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::connection_config;
    use tokio_postgres::config::SslMode;

    #[test]
    fn tls_is_required_unless_the_connection_string_says_otherwise() {
        let mode = |dsn: &str| connection_config(dsn, "DSN").unwrap().get_ssl_mode();
        assert_eq!(mode("host=db user=app dbname=orders"), SslMode::Require);
        assert_eq!(mode("postgresql://app@db/orders"), SslMode::Require);
        assert_eq!(mode("host=db user=app sslmode=disable"), SslMode::Disable);
        assert_eq!(
            mode("postgresql://app@db/orders?sslmode=prefer"),
            SslMode::Prefer
        );
        let err = connection_config("host='db password=s3cret", "DSN").unwrap_err();
        assert!(err.contains("$DSN") && !err.contains("s3cret"), "{err}");
    }
}
