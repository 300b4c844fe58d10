//! The HTTP surface: `/graphql` (GraphQL over HTTP and WebSocket subscriptions), `/graphiql`,
//! `/webhooks/courier` (tracking events), `/webhooks/payments` (the payment gateway's deposit
//! callbacks), `/healthz`, `/readyz` and `/metrics`.

mod courier;
mod export;
mod graphiql;
mod graphql;
mod ops;
mod payments;

use std::path::Path;

use axum::extract::Request;
use axum::http::HeaderName;
use axum::routing::get;
use axum::Router;
use tower::util::MapRequestLayer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{MakeSpan, TraceLayer};

use crate::app::App;
use crate::domain::actor::Actor;
use crate::graphql::{build_schema, build_socket_schema, OmsSchema};

/// What the handlers share.
#[derive(Clone)]
pub struct HttpState {
    /// The application.
    pub app: App,
    /// The executable schema.
    pub schema: OmsSchema,
    /// The same schema for WebSocket clients, with the limits HTTP checks before the schema.
    pub socket_schema: OmsSchema,
}

/// The router, as the binary serves it and the tests call it.
pub fn router(app: App, graphiql_assets: &Path) -> Router {
    let state = HttpState {
        schema: build_schema(&app),
        socket_schema: build_socket_schema(&app),
        app,
    };
    Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route(
            "/webhooks/courier",
            axum::routing::post(courier::tracking_event),
        )
        .route(
            "/webhooks/payments",
            axum::routing::post(payments::deposit_callback).layer(
                axum::extract::DefaultBodyLimit::max(payments::MAX_CALLBACK_BYTES + 1),
            ),
        )
        .route("/export/claims.csv", get(export::claims))
        .route("/export/claim-stats.csv", get(export::claim_stats))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .merge(graphiql::router(graphiql_assets))
        .with_state(state)
        .layer(CatchPanicLayer::custom(ops::panic_response))
        .layer(TraceLayer::new_for_http().make_span_with(RequestSpan))
        // Outermost first: a client's unsafe id is dropped, a missing one made, and the id
        // echoed in the response, also for a handler that panicked.
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(MapRequestLayer::new(drop_unsafe_request_id))
}

/// The header that carries a request's id, in the request and in its response.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest request id a client may choose; a longer one is replaced.
pub const MAX_REQUEST_ID_BYTES: usize = 64;

/// True for a request id kept as the client sent it: 1 to [`MAX_REQUEST_ID_BYTES`] of
/// `[A-Za-z0-9._-]`, nothing that could forge or break a log line.
pub fn is_safe_request_id(id: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID_BYTES).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Removes a client's `x-request-id` that is not safe to log (or sent twice), so that a fresh
/// one takes its place.
fn drop_unsafe_request_id(mut req: Request) -> Request {
    let headers = req.headers();
    let mut ids = headers.get_all(&REQUEST_ID).iter();
    let keep = match (ids.next(), ids.next()) {
        (None, _) => true,
        (Some(id), None) => is_safe_request_id(id.as_bytes()),
        (Some(_), Some(_)) => false,
    };
    if !keep {
        req.headers_mut().remove(&REQUEST_ID);
    }
    req
}

/// The span every line logged during a request carries: method, path (never the query, which
/// may hold a token: `/graphiql?token=`), request id, and the caller once the token is
/// checked ([`record_caller`]). At INFO, so that INFO lines carry it.
#[derive(Debug, Clone, Copy)]
struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, req: &axum::http::Request<B>) -> tracing::Span {
        let id = req
            .headers()
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        tracing::info_span!(
            "request",
            method = %req.method(),
            path = req.uri().path(),
            request_id = id,
            caller = tracing::field::Empty,
        )
    }
}

/// The caller as logs name it: `SELLER:7`, `CUSTOMER:3`, `OPERATOR`, `ANALYST`, `SYSTEM` or
/// `anonymous`.
pub fn caller_label(actor: Option<Actor>) -> String {
    match actor {
        None => "anonymous".to_owned(),
        Some(Actor::Customer(id)) => format!("CUSTOMER:{id}"),
        Some(Actor::Seller(id)) => format!("SELLER:{id}"),
        Some(Actor::Operator) => "OPERATOR".to_owned(),
        Some(Actor::Analyst) => "ANALYST".to_owned(),
        Some(Actor::System) => "SYSTEM".to_owned(),
    }
}

/// Records the caller into the current request's span, once its token is checked.
fn record_caller(actor: Option<Actor>) {
    tracing::Span::current().record("caller", caller_label(actor).as_str());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_up_to_64_safe_characters_are_kept() {
        assert!(is_safe_request_id(b"a"));
        assert!(is_safe_request_id(b"req-2026.12.08_0001"));
        assert!(is_safe_request_id("x".repeat(64).as_bytes()));
        assert!(!is_safe_request_id("x".repeat(65).as_bytes()));
        assert!(!is_safe_request_id(b""));
        for bad in ["a b", "a\"b", "a\nb", "a/b", "a=b", "한"] {
            assert!(!is_safe_request_id(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn callers_are_named_by_role_and_id() {
        assert_eq!(caller_label(None), "anonymous");
        assert_eq!(caller_label(Some(Actor::Seller(7))), "SELLER:7");
        assert_eq!(caller_label(Some(Actor::Customer(3))), "CUSTOMER:3");
        assert_eq!(caller_label(Some(Actor::Operator)), "OPERATOR");
    }
}
