//! The HTTP surface: `/graphql` (GraphQL over HTTP and WebSocket subscriptions), `/graphiql`,
//! `/webhooks/courier` (tracking events), `/healthz`, `/readyz` and `/metrics`.

mod courier;
mod export;
mod graphiql;
mod graphql;
mod ops;

use std::path::Path;

use axum::routing::get;
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::app::App;
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
        .route("/export/claims.csv", get(export::claims))
        .route("/export/claim-stats.csv", get(export::claim_stats))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .merge(graphiql::router(graphiql_assets))
        .with_state(state)
        .layer(CatchPanicLayer::custom(ops::panic_response))
        .layer(TraceLayer::new_for_http())
}
