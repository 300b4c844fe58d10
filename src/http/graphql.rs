//! GraphQL over HTTP, following the GraphQL-over-HTTP specification (the `graphql-http`
//! audits pass with zero errors): content negotiation between `application/json` and
//! `application/graphql-response+json`, 415 for a POST that is not JSON, 400 for malformed
//! parameters, 400 (graphql-response+json) or 200 (json) for documents that do not parse or
//! validate, 405 for a mutation sent by GET, and the configured body, depth, complexity, alias
//! and time limits with refusals that name the limit. The stock async-graphql-axum extractor
//! gets several of these wrong, hence this handler. WebSocket upgrades on `GET /graphql` go to
//! async-graphql-axum's graphql-transport-ws service.

use std::time::{Duration, Instant};

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::Variables;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::body::to_bytes;
use axum::extract::ws::Message as WsMessage;
use axum::extract::{FromRequestParts, WebSocketUpgrade};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};
use serde_json::{json, Map, Value};

use super::HttpState;
use crate::app::App;
use crate::codes::ErrorCode;
use crate::domain::actor::Actor;
use crate::graphql::guard::{self, DocumentLimits};
use crate::graphql::request_data;
use crate::outbox::live::ConnectionSubscriptions;

const JSON: &str = "application/json; charset=utf-8";
const GRAPHQL_RESPONSE: &str = "application/graphql-response+json; charset=utf-8";

/// Documents up to this size are guarded and parsed on the async worker (it takes
/// microseconds); larger ones go to the blocking pool.
const INLINE_PARSE_BYTES: usize = 16 * 1024;

/// How many documents over [`INLINE_PARSE_BYTES`] run at once (one per core of the machine
/// this was measured on; a 1.3 MB document holds about 115 MB while it runs).
static LARGE_DOCUMENTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// The response media type the client accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Accepts {
    /// `application/graphql-response+json`: request errors are 4xx.
    GraphqlResponse,
    /// `application/json` (legacy): request errors are 200.
    Json,
}

impl Accepts {
    fn content_type(self) -> &'static str {
        match self {
            Accepts::GraphqlResponse => GRAPHQL_RESPONSE,
            Accepts::Json => JSON,
        }
    }
}

/// A GraphQL request's parameters, before parsing the document.
struct Params {
    query: String,
    operation_name: Option<String>,
    variables: Option<Map<String, Value>>,
}

fn error_body(message: &str, code: ErrorCode) -> Value {
    json!({"errors": [{"message": message, "extensions": {"code": code.as_str()}}]})
}

fn reply(status: StatusCode, content_type: &str, body: impl ToString) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static(JSON)),
        )],
        body.to_string(),
    )
        .into_response()
}

fn bad_request(message: &str) -> Response {
    reply(
        StatusCode::BAD_REQUEST,
        JSON,
        error_body(message, ErrorCode::BadRequest),
    )
}

/// Picks the response type from `Accept`, in the client's order; none listed means JSON.
fn negotiate(headers: &HeaderMap) -> Option<Accepts> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(Accepts::Json);
    };
    if accept.trim().is_empty() {
        return Some(Accepts::Json);
    }
    for entry in accept.split(',') {
        let mut parts = entry.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let charset_ok = parts.all(|p| {
            p.split_once('=').is_none_or(|(k, v)| {
                !k.trim().eq_ignore_ascii_case("charset") || v.trim().eq_ignore_ascii_case("utf-8")
            })
        });
        if !charset_ok {
            continue;
        }
        match media.as_str() {
            "application/graphql-response+json" => return Some(Accepts::GraphqlResponse),
            "application/json" | "application/*" | "*/*" => return Some(Accepts::Json),
            _ => {}
        }
    }
    None
}

fn params_from_json(value: Value) -> Result<Params, &'static str> {
    let Value::Object(mut obj) = value else {
        return Err(if value.is_array() {
            "batched requests are not supported; send one operation per request"
        } else {
            "the request body must be a JSON object"
        });
    };
    let query = match obj.remove("query") {
        Some(Value::String(q)) => q,
        None | Some(Value::Null) => return Err("the `query` parameter is missing"),
        Some(_) => return Err("the `query` parameter must be a string"),
    };
    let operation_name = match obj.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err("the `operationName` parameter must be a string"),
    };
    let variables = match obj.remove("variables") {
        None | Some(Value::Null) => None,
        Some(Value::Object(v)) => Some(v),
        Some(_) => return Err("the `variables` parameter must be an object"),
    };
    match obj.remove("extensions") {
        None | Some(Value::Null) | Some(Value::Object(_)) => {}
        Some(_) => return Err("the `extensions` parameter must be an object"),
    }
    Ok(Params {
        query,
        operation_name,
        variables,
    })
}

fn params_from_query_string(raw: &str) -> Result<Params, &'static str> {
    let mut obj = Map::new();
    for (k, v) in form_urlencoded_pairs(raw) {
        let value = match k.as_str() {
            "variables" | "extensions" => serde_json::from_str(&v)
                .map_err(|_| "`variables` and `extensions` must be JSON objects")?,
            _ => Value::String(v),
        };
        obj.insert(k, value);
    }
    params_from_json(Value::Object(obj))
}

/// Decodes `application/x-www-form-urlencoded` pairs (a URL's query string).
fn form_urlencoded_pairs(raw: &str) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = bytes
                        .get(i + 1..i + 3)
                        .and_then(|h| std::str::from_utf8(h).ok());
                    match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        Some(b) => {
                            out.push(b);
                            i += 2;
                        }
                        None => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// The caller from `Authorization: Bearer ...`; `Err` for a token that does not verify (401,
/// or 500 when the server could not check it).
pub(super) async fn authenticate(
    state: &HttpState,
    headers: &HeaderMap,
) -> Result<Option<Actor>, Box<Response>> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let Some(token) = token else {
        return Err(Box::new(reply(
            StatusCode::UNAUTHORIZED,
            JSON,
            error_body(
                "the Authorization header must be `Bearer <token>`",
                ErrorCode::Unauthenticated,
            ),
        )));
    };
    match state.app.keys.authenticate(&state.app.db, token).await {
        Ok(actor) => Ok(Some(actor)),
        Err(e) if e.is_internal() => Err(Box::new(reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            JSON,
            error_body(&e.to_string(), ErrorCode::Internal),
        ))),
        Err(e) => Err(Box::new(reply(
            StatusCode::UNAUTHORIZED,
            JSON,
            error_body(&e.to_string(), ErrorCode::Unauthenticated),
        ))),
    }
}

/// `GET /graphql`: a WebSocket upgrade for subscriptions, or a query in the URL.
pub async fn get(State(state): State<HttpState>, req: Request) -> Response {
    let upgrade = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if upgrade {
        return subscribe(state, req).await;
    }
    let Some(accepts) = negotiate(req.headers()) else {
        return not_acceptable();
    };
    let params = match params_from_query_string(req.uri().query().unwrap_or_default()) {
        Ok(p) => p,
        Err(m) => return bad_request(m),
    };
    execute(&state, req.headers(), Method::GET, accepts, params).await
}

/// A WebSocket for subscriptions (graphql-transport-ws). The caller is the bearer token of
/// the upgrade request's `Authorization` header, or of the `connection_init` payload
/// (`{"Authorization": "Bearer <token>"}`, what browser clients can send); subscriptions
/// scope their events by it like every query.
async fn subscribe(state: HttpState, req: Request) -> Response {
    let (mut parts, _body) = req.into_parts();
    let header_actor = match authenticate(&state, &parts.headers).await {
        Ok(actor) => actor,
        Err(refusal) => return *refusal,
    };
    let protocol = match GraphQLProtocol::from_request_parts(&mut parts, &()).await {
        Ok(p) => p,
        Err(status) => return status.into_response(),
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(u) => u,
        Err(rejection) => return rejection.into_response(),
    };
    let socket_schema = state.socket_schema.clone();
    let app = state.app.clone();
    // A message may be as large as a POST body, no larger: the socket closes on a bigger one.
    let limit = state.app.limits.max_body_bytes;
    let init_timeout = state.app.limits.request_timeout();
    upgrade
        .max_message_size(limit)
        .max_frame_size(limit)
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            let (sink, messages) = socket.split();
            GraphQLWebSocket::new_with_pair(
                sink,
                init_within(messages, init_timeout),
                socket_schema,
                protocol,
            )
            .on_connection_init(move |payload| async move {
                let keys = &app.keys;
                let token = ["Authorization", "authorization"]
                    .iter()
                    .find_map(|k| payload.get(*k).and_then(|v| v.as_str()))
                    .map(|v| {
                        v.trim_start_matches("Bearer ")
                            .trim_start_matches("bearer ")
                    });
                let actor = match token {
                    Some(t) => Some(keys.authenticate(&app.db, t.trim()).await.map_err(|e| {
                        let code = if e.is_internal() {
                            ErrorCode::Internal
                        } else {
                            ErrorCode::Unauthenticated
                        };
                        async_graphql::Error::new(close_reason(&format!("{}: {e}", code.as_str())))
                    })?),
                    None => header_actor,
                };
                let mut data = async_graphql::Data::default();
                data.insert(crate::graphql::Viewer(actor));
                // Counts this socket's open subscriptions against its cap.
                data.insert(ConnectionSubscriptions::default());
                Ok(data)
            })
            .serve()
        })
        .into_response()
}

/// A refusal as the reason of the socket's close frame, which holds at most 123 bytes (a
/// longer one is a protocol error the client sees instead): cut at a character boundary,
/// ending in `…` when cut.
fn close_reason(message: &str) -> String {
    const MAX: usize = 123;
    if message.len() <= MAX {
        return message.to_owned();
    }
    let ellipsis = '…';
    let mut end = MAX - ellipsis.len_utf8();
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{ellipsis}", &message[..end])
}

/// The socket's messages, ending the socket when no `connection_init` has arrived within
/// `limit`: a client that connects and says nothing must not hold a connection forever.
fn init_within<S>(messages: S, limit: Duration) -> impl Stream<Item = S::Item> + Send
where
    S: Stream<Item = Result<WsMessage, axum::Error>> + Send + Unpin + 'static,
{
    let deadline = tokio::time::Instant::now() + limit;
    futures_util::stream::unfold(
        (messages, false),
        move |(mut messages, initialised)| async move {
            let next = if initialised {
                messages.next().await
            } else {
                tokio::time::timeout_at(deadline, messages.next())
                    .await
                    .ok()
                    .flatten()
            };
            let item = next?;
            let initialised = initialised
                || matches!(&item, Ok(WsMessage::Text(t)) if t.as_str().contains("connection_init"));
            Some((item, (messages, initialised)))
        },
    )
}

/// `POST /graphql`: a JSON body.
pub async fn post(State(state): State<HttpState>, req: Request) -> Response {
    let Some(accepts) = negotiate(req.headers()) else {
        return not_acceptable();
    };
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            let mut parts = ct.split(';').map(str::trim);
            parts
                .next()
                .is_some_and(|m| m.eq_ignore_ascii_case("application/json"))
                && parts.all(|p| {
                    p.split_once('=').is_none_or(|(k, v)| {
                        !k.trim().eq_ignore_ascii_case("charset")
                            || v.trim().eq_ignore_ascii_case("utf-8")
                    })
                })
        });
    if !is_json {
        return reply(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            JSON,
            error_body(
                "send the request as `Content-Type: application/json`",
                ErrorCode::UnsupportedMediaType,
            ),
        );
    }
    let limit = state.app.limits.max_body_bytes;
    let too_large = || {
        reply(
            StatusCode::PAYLOAD_TOO_LARGE,
            JSON,
            error_body(
                &format!("the request body exceeds the limit of {limit} bytes (--max-body-bytes)"),
                ErrorCode::PayloadTooLarge,
            ),
        )
    };
    // A declared length over the limit is refused before a byte of the body is read.
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large();
    }
    let (parts, body) = req.into_parts();
    // A client that sends its body slowly, or never finishes it, is stopped by the same
    // timeout as a request that runs too long.
    let timeout = state.app.limits.request_timeout();
    let bytes = match tokio::time::timeout(timeout, to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => return too_large(),
        Err(_) => {
            return reply(
                StatusCode::REQUEST_TIMEOUT,
                JSON,
                error_body(
                    &format!(
                        "the request body did not arrive within {} ms (--request-timeout-ms)",
                        timeout.as_millis()
                    ),
                    ErrorCode::Timeout,
                ),
            )
        }
    };
    let value: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => return bad_request(&format!("the request body is not valid JSON: {e}")),
    };
    let params = match params_from_json(value) {
        Ok(p) => p,
        Err(m) => return bad_request(m),
    };
    execute(&state, &parts.headers, Method::POST, accepts, params).await
}

fn not_acceptable() -> Response {
    reply(
        StatusCode::NOT_ACCEPTABLE,
        JSON,
        error_body(
            "accept `application/graphql-response+json` or `application/json`",
            ErrorCode::NotAcceptable,
        ),
    )
}

/// A response for errors that stopped the request before execution: no `data` key; 400 for
/// graphql-response+json, 200 for legacy JSON clients.
fn request_errors(accepts: Accepts, errors: Vec<Value>) -> Response {
    let status = match accepts {
        Accepts::GraphqlResponse => StatusCode::BAD_REQUEST,
        Accepts::Json => StatusCode::OK,
    };
    reply(status, accepts.content_type(), json!({ "errors": errors }))
}

async fn execute(
    state: &HttpState,
    headers: &HeaderMap,
    method: Method,
    accepts: Accepts,
    params: Params,
) -> Response {
    let started = Instant::now();
    let operation = params.operation_name.clone();
    let observe = |outcome: &str| {
        state.app.metrics.observe(
            operation.as_deref(),
            outcome,
            started.elapsed().as_secs_f64(),
        )
    };
    let actor = match authenticate(state, headers).await {
        Ok(a) => a,
        Err(resp) => {
            observe("refused");
            return *resp;
        }
    };
    super::record_caller(actor);

    // Large documents take turns: each holds its parsed form (about a hundred times its size)
    // until it answers, so a burst of them must not take the whole memory.
    let _turn = if params.query.len() > INLINE_PARSE_BYTES {
        match tokio::time::timeout(
            state.app.limits.request_timeout(),
            LARGE_DOCUMENTS.acquire(),
        )
        .await
        {
            Ok(Ok(permit)) => Some(permit),
            _ => {
                observe("refused");
                return reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    JSON,
                    error_body(
                        "the server is busy with other large documents; send it again shortly",
                        ErrorCode::Timeout,
                    ),
                );
            }
        }
    } else {
        None
    };

    // The document guard first (nesting, syntax, fragment costs, aliases: `graphql::guard`),
    // so that nothing a client writes reaches a recursive parser or an exponential validation.
    // Large documents are parsed on the blocking pool, so parsing them never holds one of the
    // few async workers that answer everyone else (and `/healthz`).
    let limits = DocumentLimits::from_args(&state.app.limits);
    let (query, guarded) = if params.query.len() <= INLINE_PARSE_BYTES {
        let guarded = guard::parse(&params.query, limits);
        (params.query, guarded)
    } else {
        let query = params.query;
        match tokio::task::spawn_blocking(move || {
            let guarded = guard::parse(&query, limits);
            (query, guarded)
        })
        .await
        {
            Ok(done) => done,
            Err(e) => {
                observe("error");
                tracing::error!(error = %e, "the document guard failed");
                return reply(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    JSON,
                    error_body("internal error; it has been logged", ErrorCode::Internal),
                );
            }
        }
    };
    let doc = match guarded {
        Ok(doc) => doc,
        Err(refusal) => {
            observe("refused");
            return request_errors(
                accepts,
                vec![
                    json!({"message": refusal.to_string(), "extensions": {"code": refusal.code()}}),
                ],
            );
        }
    };
    if method == Method::GET {
        let op_type = match &doc.operations {
            DocumentOperations::Single(op) => Some(op.node.ty),
            DocumentOperations::Multiple(ops) => match &params.operation_name {
                Some(name) => ops.get(name.as_str()).map(|op| op.node.ty),
                None if ops.len() == 1 => ops.values().next().map(|op| op.node.ty),
                None => None,
            },
        };
        if matches!(
            op_type,
            Some(OperationType::Mutation | OperationType::Subscription)
        ) {
            observe("refused");
            let mut resp = reply(
                StatusCode::METHOD_NOT_ALLOWED,
                JSON,
                error_body(
                    "mutations and subscriptions cannot be sent by GET; use POST",
                    ErrorCode::MethodNotAllowed,
                ),
            );
            resp.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return resp;
        }
    }

    let mut request = async_graphql::Request::new(query);
    request.set_parsed_query(doc);
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    if let Some(vars) = params.variables {
        request = request.variables(Variables::from_json(Value::Object(vars)));
    }
    // An ANALYST only reads: its whole request reads from the read replica, if one is
    // configured (`--read-database-url`), so analysts cannot slow the claim desk down.
    let (viewer, loaders) =
        if matches!(actor, Some(Actor::Analyst)) && state.app.db.has_read_replica() {
            let reader = App {
                db: state.app.db.reader(),
                ..state.app.clone()
            };
            let data = request_data(&reader, actor);
            request = request.data(reader);
            data
        } else {
            request_data(&state.app, actor)
        };
    request = request.data(viewer).data(loaders);

    let timeout = state.app.limits.request_timeout();
    let Ok(mut response) = tokio::time::timeout(timeout, state.schema.execute(request)).await
    else {
        observe("refused");
        return reply(
            StatusCode::GATEWAY_TIMEOUT,
            JSON,
            error_body(
                &format!(
                    "the request took longer than the limit of {} ms (--request-timeout-ms)",
                    timeout.as_millis()
                ),
                ErrorCode::Timeout,
            ),
        );
    };
    guard::code_errors(&mut response.errors, &state.app.limits);
    // Validation and variable errors carry no path and produce no data: they are request
    // errors. Field errors always have a path.
    let request_error = !response.errors.is_empty()
        && response.data == async_graphql::Value::Null
        && response.errors.iter().all(|e| e.path.is_empty());
    if request_error {
        observe("refused");
        let errors = response
            .errors
            .iter()
            .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
            .collect();
        return request_errors(accepts, errors);
    }
    observe(if response.errors.is_empty() {
        "ok"
    } else {
        "error"
    });
    // Serialized straight from the response so fields keep the order the query asked for.
    let body = serde_json::to_string(&response)
        .unwrap_or_else(|_| error_body("internal error", ErrorCode::Internal).to_string());
    reply(StatusCode::OK, accepts.content_type(), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reasons_fit_a_close_frame() {
        assert_eq!(close_reason("short"), "short");
        let at = "a".repeat(123);
        assert_eq!(close_reason(&at), at);
        let past = close_reason(&"가".repeat(50));
        assert!(past.len() <= 123 && past.ends_with('…'), "{past}");
        assert!(close_reason(&"a".repeat(124)).len() <= 123);
    }

    #[test]
    fn query_strings_decode_percent_and_plus() {
        let pairs = form_urlencoded_pairs("query=%7B+a%20%7D&x=1%2");
        assert_eq!(pairs[0], ("query".into(), "{ a }".into()));
        assert_eq!(pairs[1], ("x".into(), "1%2".into()));
    }

    #[test]
    fn accept_negotiation_follows_the_clients_order() {
        let mut h = HeaderMap::new();
        assert_eq!(negotiate(&h), Some(Accepts::Json));
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/graphql-response+json, application/json"),
        );
        assert_eq!(negotiate(&h), Some(Accepts::GraphqlResponse));
        h.insert(header::ACCEPT, HeaderValue::from_static("text/html"));
        assert_eq!(negotiate(&h), None);
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json; charset=iso-8859-1, */*"),
        );
        assert_eq!(negotiate(&h), Some(Accepts::Json));
    }
}
