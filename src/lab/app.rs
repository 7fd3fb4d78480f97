//! The orders app that runs on every HTTP target.
//!
//! `/healthz` is a deep check: it answers 200 only when the region's own database
//! instance answers, which is what lets a dead database fail a region over. Reads
//! go to the local instance; writes go to the cluster writer, wherever it is,
//! across the region link when it is remote, and so does listing one's own
//! orders (read-your-writes).

use super::database::Cluster;
use super::Role;
use crate::net::http::{self, Body};
use bytes::Bytes;
use hyper::{Method, Request, Response, StatusCode};
use std::sync::Arc;
use std::time::Duration;

/// What one target needs to serve.
pub struct App {
    /// The region the target runs in.
    pub region: Role,
    /// Region name, for headers.
    pub region_name: String,
    /// Target id, for headers.
    pub target_id: String,
    /// The database cluster (to find the writer endpoint).
    pub cluster: Arc<Cluster>,
    /// How long to wait for the database.
    pub db_timeout: Duration,
}

impl App {
    async fn db(
        &self,
        role: Role,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<http::Reply, String> {
        let gate = self.cluster.gate(role).listen;
        match http::request(gate, method, "db.lab", path, body, self.db_timeout).await {
            Ok(r) if r.status.is_success() => Ok(r),
            Ok(r) => Err(format!("database answered {}", r.status)),
            Err(e) => Err(format!("database unreachable: {e}")),
        }
    }

    /// Handles one request.
    pub async fn handle(self: Arc<Self>, req: Request<hyper::body::Incoming>) -> Response<Body> {
        let (method, path) = http::route(&req);
        let mut resp = match (method, path.as_str()) {
            (Method::GET, "/healthz") => {
                match self.db(self.region, Method::GET, "/ping", None).await {
                    Ok(_) => http::respond(StatusCode::OK, "text/plain", "ok"),
                    Err(e) => http::respond(StatusCode::SERVICE_UNAVAILABLE, "text/plain", e),
                }
            }
            (Method::GET, "/orders/latest") => {
                match self.db(self.region, Method::GET, "/read", None).await {
                    Ok(r) => http::respond(StatusCode::OK, "application/json", r.body),
                    Err(e) => http::respond(StatusCode::SERVICE_UNAVAILABLE, "text/plain", e),
                }
            }
            (Method::GET, "/orders") => {
                // Read-your-writes: listing a writer's own orders goes to the cluster
                // writer, not the local replica, which may lag behind it.
                let canary = http::query_param(&req, "canary").unwrap_or_default();
                let path = format!("/read?canary={canary}");
                match self
                    .db(self.cluster.writer(), Method::GET, &path, None)
                    .await
                {
                    Ok(r) => http::respond(StatusCode::OK, "application/json", r.body),
                    Err(e) => http::respond(StatusCode::SERVICE_UNAVAILABLE, "text/plain", e),
                }
            }
            (Method::POST, "/orders") => {
                let body = match http::read_body(req).await {
                    Ok(b) => b,
                    Err(resp) => return resp,
                };
                let writer = self.cluster.writer();
                match self.db(writer, Method::POST, "/write", Some(body)).await {
                    Ok(r) => http::respond(StatusCode::OK, "application/json", r.body),
                    Err(e) => http::respond(StatusCode::SERVICE_UNAVAILABLE, "text/plain", e),
                }
            }
            _ => http::respond(StatusCode::NOT_FOUND, "text/plain", "no such route"),
        };
        let headers = resp.headers_mut();
        if let Ok(v) = self.target_id.parse() {
            headers.insert("x-gameday-target", v);
        }
        if let Ok(v) = self.region_name.parse() {
            headers.insert("x-gameday-region", v);
        }
        resp
    }
}
