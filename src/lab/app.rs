//! The orders app that runs on every HTTP target.
//!
//! `/healthz` is a deep check: it answers 200 only when the region's own database
//! instance answers, which is what lets a dead database fail a region over. Reads
//! go to the local instance; writes go to the cluster writer, wherever it is,
//! across the region link when it is remote, and so does listing one's own
//! orders (read-your-writes).

use super::database::embedded::WriteRequest;
use super::database::Database;
use super::truth::Truth;
use crate::net::http::{self, Body};
use crate::words::Role;
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
    /// The database (its writer endpoint and each region's instance).
    pub db: Arc<dyn Database>,
    /// How long to wait for the database.
    pub db_timeout: Duration,
    /// How many requests a second it serves (`target_capacity`), if bounded.
    pub capacity: Option<Capacity>,
}

/// A target's throughput: one request every `1 / capacity` seconds, the
/// rest waiting their turn in a queue at most `queue` long; beyond it the
/// target answers 503 at once, as a saturated server sheds load. Health
/// checks skip the queue (a light `/healthz`), so saturation shows in the
/// customers' answers, not as a target the load balancer takes out.
///
/// When it starts shedding and when it stops (a request admitted with its
/// queue at most half full) are ground truth (`target-shedding`,
/// `target-serving`): a customer of a draining target may still be turned
/// away after the standby as a whole holds the load.
pub struct Capacity {
    per_request: Duration,
    queue: Duration,
    next_free: std::sync::Mutex<tokio::time::Instant>,
    shedding: std::sync::atomic::AtomicBool,
    truth: Arc<Truth>,
}

impl Capacity {
    /// `per_second` requests a second, waiting at most `queue`.
    pub fn new(per_second: u32, queue: Duration, truth: Arc<Truth>) -> Capacity {
        Capacity {
            per_request: Duration::from_secs(1) / per_second.max(1),
            queue,
            next_free: std::sync::Mutex::new(tokio::time::Instant::now()),
            shedding: std::sync::atomic::AtomicBool::new(false),
            truth,
        }
    }

    /// Waits for this request's turn; the wait it would have had when the
    /// queue is full. `at` names the target (region, id) for the truth.
    pub async fn admit(&self, at: (&str, &str)) -> Result<(), Duration> {
        use std::sync::atomic::Ordering;
        let now = tokio::time::Instant::now();
        let turn = {
            let mut next = self.next_free.lock().expect("capacity lock");
            let turn = (*next).max(now);
            if turn - now > self.queue {
                if !self.shedding.swap(true, Ordering::Relaxed) {
                    self.truth.record("target-shedding", at.0, at.1);
                }
                return Err(turn - now);
            }
            *next = turn + self.per_request;
            turn
        };
        if turn - now <= self.queue / 2 && self.shedding.swap(false, Ordering::Relaxed) {
            self.truth.record("target-serving", at.0, at.1);
        }
        tokio::time::sleep_until(turn).await;
        Ok(())
    }
}

fn json_or_503(result: Result<Vec<u64>, String>) -> Response<Body> {
    match result {
        Ok(seqs) => http::json(StatusCode::OK, &seqs),
        Err(e) => http::respond(StatusCode::SERVICE_UNAVAILABLE, "text/plain", e),
    }
}

impl App {
    /// The writer instance this target reaches. Across a cut region link the
    /// request hangs as a dropped-packet network makes it hang, until the
    /// database timeout.
    async fn writer(&self) -> Result<Role, String> {
        match self.db.writer_for(self.region) {
            Some(role) => Ok(role),
            None => {
                tokio::time::sleep(self.db_timeout).await;
                Err(format!(
                    "database unreachable: the writer is across the cut region link (timed out after {:?})",
                    self.db_timeout
                ))
            }
        }
    }

    /// Handles one request.
    pub async fn handle(self: Arc<Self>, req: Request<hyper::body::Incoming>) -> Response<Body> {
        let (method, path) = http::route(&req);
        let mut resp = match self.admit(&path).await {
            Ok(()) => self.serve(method, &path, req).await,
            Err(shed) => shed,
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

    /// Waits for the request's turn at a bounded target; the 503 of a full queue.
    async fn admit(&self, path: &str) -> Result<(), Response<Body>> {
        let Some(c) = self.capacity.as_ref().filter(|_| path != "/healthz") else {
            return Ok(());
        };
        c.admit((&self.region_name, &self.target_id))
            .await
            .map_err(|wait| {
                http::respond(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "text/plain",
                    format!(
                        "saturated: {} ms of requests already queued at {}",
                        wait.as_millis(),
                        self.target_id
                    ),
                )
            })
    }

    async fn serve(
        &self,
        method: Method,
        path: &str,
        req: Request<hyper::body::Incoming>,
    ) -> Response<Body> {
        let t = self.db_timeout;
        match (method, path) {
            (Method::GET, "/healthz") => match self.db.ping(self.region, t).await {
                Ok(()) => http::respond(StatusCode::OK, "text/plain", "ok"),
                Err(e) => http::respond(StatusCode::SERVICE_UNAVAILABLE, "text/plain", e),
            },
            (Method::GET, "/orders/latest") => json_or_503(self.db.latest(self.region, t).await),
            (Method::GET, "/orders") => {
                // Read-your-writes: listing a writer's own orders goes to the cluster
                // writer, not the local replica, which may lag behind it.
                let canary = http::query_param(&req, "canary").unwrap_or_default();
                match self.writer().await {
                    Ok(writer) => json_or_503(self.db.canary(writer, &canary, t).await),
                    Err(e) => http::respond(StatusCode::SERVICE_UNAVAILABLE, "text/plain", e),
                }
            }
            (Method::POST, "/orders") => {
                let order = match WriteRequest::read(req).await {
                    Ok(order) => order,
                    Err(resp) => return resp,
                };
                let written = match self.writer().await {
                    Ok(writer) => self.db.write(writer, order.seq, &order.canary, t).await,
                    Err(e) => Err(e),
                };
                match written {
                    Ok(()) => http::json(StatusCode::OK, &serde_json::json!({ "seq": order.seq })),
                    Err(e) => http::respond(StatusCode::SERVICE_UNAVAILABLE, "text/plain", e),
                }
            }
            _ => http::respond(StatusCode::NOT_FOUND, "text/plain", "no such route"),
        }
    }
}
