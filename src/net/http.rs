//! Minimal HTTP/1.1 client and server on hyper.
//!
//! The client opens a fresh connection per request on purpose: a customer (or a
//! health checker) behind a severed link must see the connect or the read hang,
//! not a pooled connection that hides it.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// Response body type used everywhere in gameday.
pub type Body = Full<Bytes>;

/// Why an HTTP exchange failed.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum HttpError {
    /// Nothing came back in time (connect, send or read hung).
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The connection was refused or reset.
    #[error("connection failed: {0}")]
    Connect(String),
    /// The peer broke the HTTP exchange.
    #[error("protocol error: {0}")]
    Protocol(String),
}

/// A completed HTTP exchange.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: StatusCode,
    /// Value of the `x-gameday-region` header, when the lab set it.
    pub region: Option<String>,
    /// Full body.
    pub body: Bytes,
}

/// Sends one request on a new connection; the whole exchange is bounded by `timeout`.
pub async fn request(
    addr: SocketAddr,
    method: Method,
    host: &str,
    path: &str,
    body: Option<Bytes>,
    timeout: Duration,
) -> Result<Reply, HttpError> {
    request_to(addr, None, method, host, path, body, timeout).await
}

/// Like [`request`], with `Authorization: Bearer <token>` (the lab's control API).
pub async fn request_bearer(
    addr: SocketAddr,
    method: Method,
    path: &str,
    body: Option<Bytes>,
    token: &str,
    timeout: Duration,
) -> Result<Reply, HttpError> {
    let host = addr.to_string();
    let outgoing = Outgoing {
        method,
        host: &host,
        path,
        body,
        bearer: Some(token),
        content_type: JSON,
    };
    bounded(timeout, send(addr, None, outgoing)).await
}

/// Like [`request`], over TLS with `tls` (and `host` as the server name) when given.
pub async fn request_to(
    addr: SocketAddr,
    tls: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
    method: Method,
    host: &str,
    path: &str,
    body: Option<Bytes>,
    timeout: Duration,
) -> Result<Reply, HttpError> {
    let body = body.map(|b| (b, JSON));
    send_typed(addr, tls, method, host, path, body, timeout).await
}

/// The type of the bodies gameday sends unless told otherwise.
const JSON: &str = "application/json";

/// A request with a body and its content type (`PUT` of a metrics text,
/// say), over TLS when `tls` is given.
pub async fn send_typed(
    addr: SocketAddr,
    tls: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
    method: Method,
    host: &str,
    path: &str,
    body: Option<(Bytes, &str)>,
    timeout: Duration,
) -> Result<Reply, HttpError> {
    let (body, content_type) = match body {
        Some((b, t)) => (Some(b), t),
        None => (None, JSON),
    };
    let outgoing = Outgoing {
        method,
        host,
        path,
        body,
        bearer: None,
        content_type,
    };
    bounded(timeout, send(addr, tls, outgoing)).await
}

/// What one request sends.
struct Outgoing<'a> {
    method: Method,
    host: &'a str,
    path: &'a str,
    body: Option<Bytes>,
    bearer: Option<&'a str>,
    content_type: &'a str,
}

async fn bounded(
    timeout: Duration,
    exchange: impl Future<Output = Result<Reply, HttpError>>,
) -> Result<Reply, HttpError> {
    match tokio::time::timeout(timeout, exchange).await {
        Ok(r) => r,
        Err(_) => Err(HttpError::Timeout(timeout)),
    }
}

async fn send(
    addr: SocketAddr,
    tls: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
    out: Outgoing<'_>,
) -> Result<Reply, HttpError> {
    let mut conn = connect(addr, tls, out.host).await?;
    let reply = conn.exchange(out, false).await;
    drop(conn);
    reply
}

/// An open HTTP/1.1 connection (over TLS when asked): its sender, and the
/// task that drives it (aborted when the connection is dropped).
pub struct Connection {
    sender: hyper::client::conn::http1::SendRequest<Body>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Opens a connection to `addr` (a TLS session for `host` when `tls` is given).
async fn connect(
    addr: SocketAddr,
    tls: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
    host: &str,
) -> Result<Connection, HttpError> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| HttpError::Connect(e.to_string()))?;
    let _ = stream.set_nodelay(true);
    let Some(config) = tls else {
        return handshake(stream).await;
    };
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| HttpError::Connect(format!("{host} is not a TLS server name: {e}")))?;
    let stream = tokio_rustls::TlsConnector::from(config)
        .connect(name, stream)
        .await
        .map_err(|e| HttpError::Connect(format!("TLS: {e}")))?;
    handshake(stream).await
}

async fn handshake<S>(stream: S) -> Result<Connection, HttpError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| HttpError::Protocol(e.to_string()))?;
    let task = tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(Connection { sender, task })
}

/// Opens a connection a client keeps alive for several requests (a pooled
/// client's), within `timeout`.
pub async fn open(
    addr: SocketAddr,
    tls: Option<Arc<tokio_rustls::rustls::ClientConfig>>,
    host: &str,
    timeout: Duration,
) -> Result<Connection, HttpError> {
    tokio::time::timeout(timeout, connect(addr, tls, host))
        .await
        .unwrap_or(Err(HttpError::Timeout(timeout)))
}

impl Connection {
    /// Whether the other end closed it (a kept connection is not reused then).
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }

    /// A GET on this connection, keeping it open, within `timeout`.
    pub async fn get(
        &mut self,
        host: &str,
        path: &str,
        timeout: Duration,
    ) -> Result<Reply, HttpError> {
        self.get_kept(host, path, None, timeout).await
    }

    /// A GET with `Authorization: Bearer <token>` on this connection,
    /// keeping it open, within `timeout`.
    pub async fn get_authorized(
        &mut self,
        host: &str,
        path: &str,
        token: &str,
        timeout: Duration,
    ) -> Result<Reply, HttpError> {
        self.get_kept(host, path, Some(token), timeout).await
    }

    async fn get_kept(
        &mut self,
        host: &str,
        path: &str,
        bearer: Option<&str>,
        timeout: Duration,
    ) -> Result<Reply, HttpError> {
        let out = Outgoing {
            method: Method::GET,
            host,
            path,
            body: None,
            bearer,
            content_type: JSON,
        };
        bounded(timeout, self.exchange(out, true)).await
    }

    /// One request and its reply; `Connection: close` unless `keep_alive`.
    async fn exchange(&mut self, out: Outgoing<'_>, keep_alive: bool) -> Result<Reply, HttpError> {
        let mut req = Request::builder()
            .method(out.method)
            .uri(out.path)
            .header(hyper::header::HOST, out.host);
        if !keep_alive {
            req = req.header(hyper::header::CONNECTION, "close");
        }
        if out.body.is_some() {
            req = req.header(hyper::header::CONTENT_TYPE, out.content_type);
        }
        if let Some(token) = out.bearer {
            req = req.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let req = req
            .body(Full::new(out.body.unwrap_or_default()))
            .map_err(|e| HttpError::Protocol(e.to_string()))?;
        self.sender.ready().await.map_err(|e| classify(&e))?;
        let resp = self
            .sender
            .send_request(req)
            .await
            .map_err(|e| classify(&e))?;
        read_reply(resp).await
    }
}

/// The most of a response body gameday reads: an answer larger than this
/// (a customer endpoint, a lab, anything on the other end) is cut off.
pub const MAX_REPLY_BYTES: usize = 4 << 20;

/// A response read whole (up to [`MAX_REPLY_BYTES`]).
async fn read_reply(resp: hyper::Response<hyper::body::Incoming>) -> Result<Reply, HttpError> {
    let status = resp.status();
    let region = resp
        .headers()
        .get("x-gameday-region")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = http_body_util::Limited::new(resp.into_body(), MAX_REPLY_BYTES)
        .collect()
        .await
        .map_err(|e| match e.downcast::<hyper::Error>() {
            Ok(e) => classify(&e),
            Err(e) => HttpError::Protocol(format!("{e} (more than {MAX_REPLY_BYTES} bytes)")),
        })?
        .to_bytes();
    Ok(Reply {
        status,
        region,
        body,
    })
}

fn classify(e: &hyper::Error) -> HttpError {
    if e.is_incomplete_message() || e.is_canceled() || e.is_closed() {
        HttpError::Connect(e.to_string())
    } else {
        HttpError::Protocol(e.to_string())
    }
}

/// Builds a response with a body and content type.
pub fn respond(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(hyper::header::CONTENT_TYPE, content_type)
        .body(Full::new(body.into()))
        .expect("static response parts are valid")
}

/// A JSON response.
pub fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    let body = serde_json::to_vec(value)
        .unwrap_or_else(|e| format!("{{\"error\":\"cannot encode response: {e}\"}}").into_bytes());
    respond(status, "application/json", body)
}

/// Reads a whole request body, bounded so a stray client cannot exhaust memory.
pub async fn read_body(req: Request<Incoming>) -> Result<Bytes, Response<Body>> {
    const LIMIT: usize = 1 << 20;
    let body = req.into_body();
    match http_body_util::Limited::new(body, LIMIT).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) => Err(respond(
            StatusCode::BAD_REQUEST,
            "text/plain",
            format!("unreadable body: {e}"),
        )),
    }
}

/// The method and path of a request, for routing.
pub fn route(req: &Request<Incoming>) -> (Method, String) {
    (req.method().clone(), req.uri().path().to_string())
}

/// A query parameter of a request.
pub fn query_param(req: &Request<Incoming>, key: &str) -> Option<String> {
    req.uri().query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == key).then(|| v.to_string())
    })
}

/// Connections one server holds at once; more are closed at accept.
const MAX_CONNECTIONS: usize = 1024;

/// Serves HTTP/1.1 on `listener` with `handler` until the returned task is aborted.
/// Aborting it also drops every connection it accepted.
pub fn serve<H, F>(listener: TcpListener, handler: H) -> tokio::task::JoinHandle<()>
where
    H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let handler = Arc::new(handler);
    tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    if connections.len() >= MAX_CONNECTIONS {
                        continue; // dropped: a flood cannot grow memory without bound
                    }
                    let _ = stream.set_nodelay(true);
                    let handler = handler.clone();
                    connections.spawn(async move {
                        let svc = hyper::service::service_fn(move |req| {
                            let fut = handler(req);
                            async move { Ok::<_, Infallible>(fut.await) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), svc)
                            .await;
                    });
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
    })
}
