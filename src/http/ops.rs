//! Operations endpoints: liveness, readiness and Prometheus metrics; the answer to a panic.

use std::any::Any;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, Response, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use super::HttpState;
use crate::codes::ErrorCode;

/// `/healthz`: the process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// How long each of `/readyz`'s checks may take: a database that does not answer (a network
/// that drops packets) makes the server unready within this bound instead of holding the
/// probe for minutes.
const READY_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// `/readyz`: the database answers and every migration is applied, each check within
/// [`READY_CHECK_TIMEOUT`]. The read replica's state is reported (`readReplica`: null when
/// none is configured) but does not make the server unready: without it analytics, exports
/// and ANALYST requests fail, while the claim desk, which only needs the primary, works on.
pub async fn readyz(State(state): State<HttpState>) -> impl IntoResponse {
    let db = &state.app.db;
    let reachable = matches!(
        tokio::time::timeout(READY_CHECK_TIMEOUT, db.ping()).await,
        Ok(Ok(()))
    );
    let migrated = reachable
        && matches!(
            tokio::time::timeout(READY_CHECK_TIMEOUT, db.migrations_applied()).await,
            Ok(Ok(true))
        );
    let replica = match tokio::time::timeout(READY_CHECK_TIMEOUT, db.ping_replica()).await {
        Ok(answer) => answer,
        Err(_) => Some(false),
    };
    if replica == Some(false) {
        tracing::warn!("the read replica does not answer: analytics and ANALYST requests fail");
    }
    let status = if reachable && migrated {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({ "database": reachable, "migrations": migrated, "readReplica": replica })),
    )
}

/// `/metrics`: Prometheus text format.
pub async fn metrics(State(state): State<HttpState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        with_statements(state.app.metrics.render(), state.app.db.statement_count()),
    )
}

/// The exposition with the database handle's statement count added before the closing
/// `# EOF` (the count lives in `Db`, outside the metrics registry). Benchmarks read it to
/// count statements per request from outside the process.
fn with_statements(exposition: String, statements: u64) -> String {
    let body = exposition.strip_suffix("# EOF\n").unwrap_or(&exposition);
    format!(
        "{body}# HELP oms_sql_statements SQL statements this process has sent to the database.\n\
         # TYPE oms_sql_statements counter\n\
         oms_sql_statements_total {statements}\n# EOF\n"
    )
}

/// A panic inside a handler: logged, answered with a plain INTERNAL error.
pub fn panic_response(err: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let detail = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default();
    tracing::error!(panic = %detail, "handler panicked");
    let body = json!({"errors": [{"message": "internal error; it has been logged", "extensions": {"code": ErrorCode::Internal.as_str()}}]});
    Response::builder()
        .status(StatusCode::INTERNAL_SERVER_ERROR)
        .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
        .body(Body::from(body.to_string()))
        .unwrap_or_default()
}
