//! `--pushgateway URL` / `[metrics] pushgateway`: the OpenMetrics text PUT
//! to a Prometheus Pushgateway, for runners that no Prometheus scrapes (CI
//! jobs, CronJobs).
//!
//! The group is `job="gameday"` plus the run's `scenario` and
//! `environment`, base64-encoded in the path so any name is safe; a PUT
//! replaces the group, so the Pushgateway always holds each scenario's last
//! run.

use super::Publisher;
use crate::net::http::{self, HttpError};
use crate::report::{metrics, metrics::OpenMetrics, Format, Report};
use crate::words::ChangeError;
use base64::Engine;
use bytes::Bytes;
use hyper::Method;
use std::time::Duration;

/// One attempt's bound.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// The text format the Pushgateway reads (it takes `# UNIT` and `# EOF` for
/// comments).
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A Pushgateway's address, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `https`.
    pub tls: bool,
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Path prefix before `/metrics` (empty, or `/pushgateway` behind a proxy).
    pub prefix: String,
}

impl Endpoint {
    /// Parses `http://host:port[/prefix]` or `https://...`.
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let shown = crate::words::printable(url);
        let uri: hyper::Uri = url.parse().map_err(|e| {
            format!("\"{shown}\" is not a URL ({e}); write it like \"http://pushgateway:9091\"")
        })?;
        let tls = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(format!("\"{shown}\" must start with http:// or https://")),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| format!("\"{shown}\" names no host"))?;
        if authority.as_str().contains('@') {
            return Err(format!(
                "\"{shown}\" carries credentials; they would end up in logs: put a proxy that adds them in front of the Pushgateway"
            ));
        }
        if uri.query().is_some() {
            return Err(format!(
                "\"{shown}\" has a query; give the Pushgateway's base URL"
            ));
        }
        Ok(Endpoint {
            tls,
            host: authority.host().trim_matches(['[', ']']).to_string(),
            port: authority.port_u16().unwrap_or(if tls { 443 } else { 80 }),
            prefix: uri.path().trim_end_matches('/').to_string(),
        })
    }

    /// The `Host` header.
    fn host_header(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// As the user wrote it, for messages.
    fn shown(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{}", self.host_header(), self.prefix)
    }
}

/// The path of a run's group: `job`, `scenario` and `environment`.
pub fn group_path(r: &Report) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!(
        "/metrics/job/gameday/scenario@base64/{}/environment@base64/{}",
        b64(&r.scenario.name),
        b64(&metrics::environment(r))
    )
}

/// A Pushgateway.
pub struct Pushgateway {
    /// Where it is.
    pub endpoint: Endpoint,
}

#[async_trait::async_trait]
impl Publisher for Pushgateway {
    fn failed(&self) -> String {
        format!("cannot push to the Pushgateway {}", self.endpoint.shown())
    }

    async fn publish(&self, r: &Report) -> Result<(), ChangeError> {
        let e = &self.endpoint;
        let addr = tokio::net::lookup_host((e.host.as_str(), e.port))
            .await
            .ok()
            .and_then(|mut addrs| addrs.next())
            .ok_or_else(|| {
                ChangeError::transient(format!(
                    "cannot resolve {}; check the name and the resolver",
                    e.host
                ))
            })?;
        let tls = if e.tls {
            Some(crate::net::tls::client_config(None).map_err(ChangeError::permanent)?)
        } else {
            None
        };
        let path = format!("{}{}", e.prefix, group_path(r));
        let body = Bytes::from(OpenMetrics.render(r));
        let reply = http::send_typed(
            addr,
            tls,
            Method::PUT,
            &e.host_header(),
            &path,
            Some((body, CONTENT_TYPE)),
            ATTEMPT_TIMEOUT,
        )
        .await
        .map_err(|err| match err {
            HttpError::Protocol(m) => ChangeError::permanent(format!("{m}; is it a Pushgateway?")),
            other => ChangeError::transient(format!("{other} at {addr}")),
        })?;
        answer(reply)
    }
}

/// 200 and 202 are success; what else the Pushgateway said, in one line.
fn answer(reply: http::Reply) -> Result<(), ChangeError> {
    let status = reply.status.as_u16();
    if matches!(status, 200 | 202) {
        return Ok(());
    }
    let said: String = crate::words::printable(String::from_utf8_lossy(&reply.body).trim())
        .chars()
        .take(200)
        .collect();
    let line = format!("HTTP {status}: {said}");
    if status >= 500 || status == 429 {
        Err(ChangeError::transient(line))
    } else {
        Err(ChangeError::permanent(format!(
            "{line}; check the URL and any proxy in front of it"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::Endpoint;

    #[test]
    fn endpoints_parse_with_defaults_and_refuse_credentials_and_queries() {
        let e = Endpoint::parse("http://pushgateway.monitoring:9091/").unwrap();
        assert_eq!(
            (e.tls, e.host.as_str(), e.port, e.prefix.as_str()),
            (false, "pushgateway.monitoring", 9091, "")
        );
        let e = Endpoint::parse("https://metrics.example.com/pushgateway").unwrap();
        assert_eq!(
            (e.tls, e.port, e.prefix.as_str()),
            (true, 443, "/pushgateway")
        );
        let e = Endpoint::parse("http://[::1]:9091").unwrap();
        assert_eq!(
            (e.host.as_str(), e.host_header()),
            ("::1", "[::1]:9091".to_string())
        );
        for bad in [
            "ftp://x:1",
            "pushgateway:9091",
            "http://user:pw@x:9091",
            "http://x:9091/?a=b",
            "",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
