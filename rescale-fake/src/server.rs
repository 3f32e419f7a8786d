//! The HTTP side: accept loop, recording, knobs, routing, auth, dispatch.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::persist;
use crate::state::{Shared, lock};
use crate::tls::Tls;
use crate::util::{self, detail, json_response, not_found};
use crate::{Aim, Fault, RecordedRequest, catalogue, files, jobs, page::PageReq, routes};

const PREFIX: &str = "/api/v2/";

/// Lets a handler close the connection its request came on.
#[derive(Clone)]
struct ConnKill(Arc<Notify>);

type SharedState = Arc<Mutex<Shared>>;

/// Serves connections until `stop` turns true (then lets every connection finish its
/// current request, up to a few seconds) or the task is aborted.
pub async fn serve(
    listener: TcpListener,
    shared: SharedState,
    tls: Option<Tls>,
    mut stop: watch::Receiver<bool>,
) {
    let router = Router::new().fallback(handle).with_state(shared.clone());
    let mut conns = JoinSet::new();
    let watcher = stop.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let delay = {
                        let mut s = lock(&shared);
                        s.connections += 1;
                        s.connect_latency
                    };
                    let conn = accept(stream, delay, tls.clone(), router.clone(), watcher.clone());
                    conns.spawn(conn);
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            _ = stopped(&mut stop) => break,
        }
    }
    drop(listener);
    let drained = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(5), drained)
        .await
        .is_err()
    {
        conns.shutdown().await;
    }
}

/// Resolves once the server is told to stop (or its owner is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// One accepted connection: the connect latency, the TLS handshake if any, then HTTP.
async fn accept(
    stream: TcpStream,
    delay: Duration,
    tls: Option<Tls>,
    router: Router,
    stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match tls {
        None => serve_connection(stream, router, stop).await,
        Some(tls) => {
            if let Ok(stream) = tls.accept(stream).await {
                serve_connection(stream, router, stop).await;
            }
        }
    }
}

async fn serve_connection<S>(stream: S, router: Router, mut stop: watch::Receiver<bool>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let kill = Arc::new(Notify::new());
    let kill_handle = kill.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnKill(kill_handle.clone()));
        router.clone().oneshot(req.map(Body::new))
    });
    let conn =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = kill.notified() => return,
        _ = stopped(&mut stop) => conn.as_mut().graceful_shutdown(),
    }
    tokio::select! {
        _ = conn => {}
        _ = kill.notified() => {}
    }
}

/// A path resolved against the routing table.
enum Resolved {
    /// A known endpoint (`pattern` has the trailing slash, but for a file's); `slash` says
    /// if the request had it.
    Found {
        pattern: &'static str,
        params: Vec<String>,
        slash: bool,
    },
    Unknown,
}

fn resolve(path: &str) -> Resolved {
    let Some(rel) = path.strip_prefix(PREFIX) else {
        return Resolved::Unknown;
    };
    let slash = rel.ends_with('/');
    let trimmed = rel.strip_suffix('/').unwrap_or(rel);
    if trimmed.is_empty() {
        return Resolved::Unknown;
    }
    let segs: Vec<&str> = trimmed.split('/').collect();
    if segs.iter().any(|s| s.is_empty()) {
        return Resolved::Unknown;
    }
    if let Some((pattern, params)) = routes::resolve(&segs) {
        return Resolved::Found {
            pattern,
            params,
            slash,
        };
    }
    let d = util::decode_segment;
    let (pattern, params): (&'static str, Vec<String>) = match segs.as_slice() {
        ["jobs"] => ("jobs/", vec![]),
        ["jobs", id] => ("jobs/{id}/", vec![d(id)]),
        ["jobs", id, tail] => {
            let pattern = match *tail {
                "submit" => "jobs/{id}/submit/",
                "stop" => "jobs/{id}/stop/",
                "share" => "jobs/{id}/share/",
                "statuses" => "jobs/{id}/statuses/",
                "cluster_statuses" => "jobs/{id}/cluster_statuses/",
                "files" => "jobs/{id}/files/",
                "runs" => "jobs/{id}/runs/",
                _ => return Resolved::Unknown,
            };
            (pattern, vec![d(id)])
        }
        ["jobs", id, "runs", run] => ("jobs/{id}/runs/{run}/", vec![d(id), d(run)]),
        ["jobs", id, "runs", run, "files"] => ("jobs/{id}/runs/{run}/files/", vec![d(id), d(run)]),
        ["files"] => ("files/", vec![]),
        ["files", "contents"] => ("files/contents/", vec![]),
        ["files", id] => ("files/{id}/", vec![d(id)]),
        ["files", id, "contents"] => ("files/{id}/contents/", vec![d(id)]),
        ["analyses"] => ("analyses/", vec![]),
        ["coretypes"] => ("coretypes/", vec![]),
        _ => return Resolved::Unknown,
    };
    Resolved::Found {
        pattern,
        params,
        slash,
    }
}

fn allowed(pattern: &str) -> &'static [&'static str] {
    if let Some(methods) = routes::allowed(pattern) {
        return methods;
    }
    match pattern {
        "jobs/" => &["GET", "POST"],
        "jobs/{id}/" => &["GET", "PUT", "PATCH", "DELETE"],
        "jobs/{id}/submit/" | "jobs/{id}/stop/" | "jobs/{id}/share/" | "files/contents/" => {
            &["POST"]
        }
        "files/{id}/" => &["GET", "DELETE"],
        _ => &["GET"],
    }
}

fn endpoint_key(method: &Method, path: &str, resolved: &Resolved) -> String {
    match resolved {
        Resolved::Found {
            pattern,
            slash: true,
            ..
        } => format!("{method} {pattern}"),
        Resolved::Found { pattern, .. } => {
            format!("{method} {}", pattern.strip_suffix('/').unwrap_or(pattern))
        }
        Resolved::Unknown => format!("{method} {}", path.strip_prefix(PREFIX).unwrap_or(path)),
    }
}

async fn handle(State(shared): State<SharedState>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let range = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let resolved = resolve(&path);
    let endpoint = endpoint_key(&method, &path, &resolved);
    let (index, fault, latency, aim) = {
        let mut s = lock(&shared);
        s.targeted.arrivals.push(Instant::now());
        let aim = s.targeted.take(&endpoint);
        s.requests.push(RecordedRequest {
            method: method.to_string(),
            path: path.clone(),
            endpoint,
            query: query.clone(),
            status: 0,
            range: range.clone(),
        });
        let (fault, aim) = match aim {
            Some(Aim::Instead(f)) => (Some(f), None),
            aim => (s.take_fault(), aim),
        };
        (s.requests.len() - 1, fault, s.latency, aim)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let response = match fault {
        Some(Fault::DropConnection) => {
            let kill = req.extensions().get::<ConnKill>().cloned();
            return drop_connection(kill).await;
        }
        Some(fault) => fault_response(&fault),
        None => {
            let kill = req.extensions().get::<ConnKill>().cloned();
            let response = answer(&shared, req, resolved, query, range).await;
            match aim {
                Some(Aim::Hang) => std::future::pending().await,
                Some(Aim::AnswerLost(Fault::DropConnection)) => return drop_connection(kill).await,
                Some(Aim::AnswerLost(fault)) => fault_response(&fault),
                _ => response,
            }
        }
    };
    let mut s = lock(&shared);
    s.requests[index].status = response.status().as_u16();
    if method != Method::GET && response.status().is_success() {
        s.changed = true;
    }
    persist::save_if_changed(&mut s);
    response
}

/// Closes the connection without answering (status stays recorded as 0).
async fn drop_connection(kill: Option<ConnKill>) -> Response {
    if let Some(kill) = kill {
        kill.0.notify_one();
        std::future::pending::<()>().await;
    }
    // Not reached when served by `serve`: promise a body, then fail it.
    let failing = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("connection dropped"))
    });
    Response::builder()
        .header(header::CONTENT_LENGTH, "1024")
        .body(Body::from_stream(failing))
        .expect("valid response")
}

fn html(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

fn fault_response(fault: &Fault) -> Response {
    match fault {
        Fault::TooManyRequests { retry_after_secs } => {
            let mut resp = detail(
                StatusCode::TOO_MANY_REQUESTS,
                &format!(
                    "Request was throttled. Expected available in {retry_after_secs} seconds."
                ),
            );
            resp.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&retry_after_secs.to_string()).expect("digits"),
            );
            resp
        }
        Fault::ServiceUnavailable => html(
            StatusCode::SERVICE_UNAVAILABLE,
            "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>",
        ),
        Fault::GatewayTimeout | Fault::DropConnection => html(
            StatusCode::GATEWAY_TIMEOUT,
            "<html><body><h1>504 Gateway Time-out</h1></body></html>",
        ),
    }
}

fn unauthorized(message: &str) -> Box<Response> {
    let mut resp = detail(StatusCode::UNAUTHORIZED, message);
    resp.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Token"));
    Box::new(resp)
}

/// DRF's TokenAuthentication, also taking `Bearer`.
fn authenticate(s: &Shared, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(unauthorized(
            "Authentication credentials were not provided.",
        ));
    };
    let value = value.to_str().unwrap_or("");
    let mut words = value.split_whitespace();
    let scheme = words.next().unwrap_or("");
    if !scheme.eq_ignore_ascii_case("token") && !scheme.eq_ignore_ascii_case("bearer") {
        return Err(unauthorized(
            "Authentication credentials were not provided.",
        ));
    }
    match (words.next(), words.next()) {
        (None, _) => Err(unauthorized(
            "Invalid token header. No credentials provided.",
        )),
        (Some(_), Some(_)) => Err(unauthorized(
            "Invalid token header. Token string should not contain spaces.",
        )),
        (Some(key), None) if key == s.api_key => Ok(()),
        (Some(_), None) => Err(unauthorized("Invalid token.")),
    }
}

fn is_chunked(headers: &HeaderMap) -> bool {
    headers.get_all(header::TRANSFER_ENCODING).iter().any(|v| {
        v.to_str()
            .unwrap_or("")
            .to_ascii_lowercase()
            .contains("chunked")
    })
}

async fn answer(
    shared: &SharedState,
    req: Request,
    resolved: Resolved,
    query: Option<String>,
    range: Option<String>,
) -> Response {
    // Every path ends with a slash, as on the service (`jobs/LeeKa` is not found), but a
    // file's (a pattern without one, `tail/{path}`) may come either way.
    let Resolved::Found {
        pattern,
        params,
        slash,
    } = resolved
    else {
        return not_found();
    };
    if !slash && pattern.ends_with('/') {
        return not_found();
    }
    let method = req.method().clone();
    let has_body = matches!(method, Method::POST | Method::PUT | Method::PATCH);
    if has_body && is_chunked(req.headers()) {
        return detail(StatusCode::LENGTH_REQUIRED, "Length required.");
    }
    if let Err(resp) = authenticate(&lock(shared), req.headers()) {
        return *resp;
    }
    if !allowed(pattern).contains(&method.as_str()) {
        return detail(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!("Method \"{method}\" not allowed."),
        );
    }
    let (parts, body) = req.into_parts();
    let body = if has_body {
        match axum::body::to_bytes(body, usize::MAX).await {
            Ok(b) => b,
            Err(_) => return detail(StatusCode::BAD_REQUEST, "Could not read the request body."),
        }
    } else {
        Bytes::new()
    };
    let now = Instant::now();
    let path = parts.uri.path();
    let q = query.as_deref();
    let id = params.first().map_or("", String::as_str);
    let mut s = lock(shared);
    s.settle(now);
    if pattern.starts_with("jobs/{id}/") && pattern.ends_with("files/") {
        s.ensure_outputs(id, now);
    }
    match (method.as_str(), pattern) {
        ("GET", "jobs/") => {
            // Serialised without the lock: concurrent pages do not wait on each other.
            let page = jobs::list(&s, path, q, now);
            drop(s);
            page.into_response()
        }
        ("POST", "jobs/") => jobs::create(&mut s, &body),
        ("GET", "jobs/{id}/") => jobs::get(&s, id),
        ("PUT", "jobs/{id}/") => jobs::put(&mut s, id, &body),
        ("PATCH", "jobs/{id}/") => jobs::patch(&mut s, id, &body, now),
        ("DELETE", "jobs/{id}/") => jobs::delete(&mut s, id, q, now),
        ("POST", "jobs/{id}/submit/") => jobs::submit(&mut s, id, now),
        ("POST", "jobs/{id}/stop/") => jobs::stop(&mut s, id, now),
        ("POST", "jobs/{id}/share/") => jobs::share(&mut s, id, &body),
        ("GET", "jobs/{id}/statuses/") => jobs::statuses(&s, id, path, q, now),
        ("GET", "jobs/{id}/cluster_statuses/") => jobs::cluster_statuses(&s, id, path, q, now),
        ("GET", "jobs/{id}/files/") => jobs::files(&s, id, path, q),
        ("GET", "jobs/{id}/runs/") => jobs::runs(&s, id, path, q, now),
        ("GET", "jobs/{id}/runs/{run}/") => jobs::run(&s, id, &params[1], now),
        ("GET", "jobs/{id}/runs/{run}/files/") => jobs::run_files(&s, id, &params[1], path, q, now),
        ("GET", "files/") => files::list(&s, path, q),
        ("POST", "files/contents/") => files::upload(&mut s, &parts.headers, body),
        ("GET", "files/{id}/") => files::get(&s, id),
        ("DELETE", "files/{id}/") => files::delete(&mut s, id),
        ("GET", "files/{id}/contents/") => files::contents(&s, id, range.as_deref()),
        ("GET", "analyses/") => catalogue_page(&s, path, q, catalogue::analyses()),
        ("GET", "coretypes/") => catalogue_page(&s, path, q, catalogue::core_types()),
        (method, pattern) => {
            let call = routes::Call {
                method,
                pattern,
                params: &params,
                body: &body,
                path,
                query: q,
                now,
            };
            routes::answer(&mut s, &call)
                .unwrap_or_else(|| json_response(StatusCode::INTERNAL_SERVER_ERROR, Value::Null))
        }
    }
}

fn catalogue_page(s: &Shared, path: &str, query: Option<&str>, items: Vec<Value>) -> Response {
    match PageReq::parse(s, path, query) {
        Ok(req) => req.respond(items),
        Err(resp) => *resp,
    }
}
