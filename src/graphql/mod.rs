//! The GraphQL API: schema, context helpers, and the mapping of service results.
//!
//! Resolvers are thin: parse, authorize, call a service, map the result.

pub mod analytics;
pub mod catalogue;
pub mod claims;
pub mod customers;
pub mod depth;
pub mod events;
pub mod guard;
pub mod idempotency;
pub mod identity;
pub mod ids;
pub mod loaders;
pub mod mutation;
pub mod plugins;
pub mod query;
pub mod sellers;
pub mod text;
pub mod types;

use std::sync::Arc;

use async_graphql::{Context, Schema};
use sea_orm::DbErr;

use crate::app::App;
use crate::domain::actor::Actor;
use crate::error::{to_graphql_error, ServiceError};
use loaders::Loaders;

/// The schema type.
pub type OmsSchema = Schema<Query, Mutation, events::EventSubscription>;

/// The query root: orders and catalogue, claims, sellers' policy plugins, webhooks and the
/// outbox.
#[derive(async_graphql::MergedObject, Default)]
pub struct Query(
    query::OrderQuery,
    claims::ClaimQuery,
    plugins::PluginQuery,
    events::EventQuery,
    analytics::AnalyticsQuery,
);

/// The mutation root: order-side mutations, one mutation per claim action, and the plugin
/// lifecycle.
#[derive(async_graphql::MergedObject, Default)]
pub struct Mutation(
    mutation::OrderMutation,
    claims::ClaimMutation,
    plugins::PluginMutation,
    events::EventMutation,
    identity::IdentityMutation,
    sellers::SellerMutation,
    catalogue::CatalogueMutation,
    customers::CustomerMutation,
);

/// Who is calling: the actor of the bearer token, if any.
#[derive(Debug, Clone, Copy)]
pub struct Viewer(pub Option<Actor>);

/// Builds the schema with the configured limits.
pub fn build_schema(app: &App) -> OmsSchema {
    schema_builder(app).finish()
}

/// The schema for WebSocket clients: HTTP guards documents before the schema (with a 400);
/// this one runs the same guard itself (`guard::DocumentGuard`). (HTTP does without the
/// extension: any extension costs every field a hop through its chain.)
pub fn build_socket_schema(app: &App) -> OmsSchema {
    schema_builder(app)
        .extension(guard::DocumentGuard(app.limits.clone()))
        .finish()
}

fn schema_builder(
    app: &App,
) -> async_graphql::SchemaBuilder<Query, Mutation, events::EventSubscription> {
    let mut builder = Schema::build(
        Query::default(),
        Mutation::default(),
        events::EventSubscription,
    )
    .data(app.clone())
    // The guard holds data to `--max-depth` and introspection to its own bound
    // (`graphql::depth`); async-graphql's count, which cannot tell them apart, stays as a
    // backstop at the larger of the two.
    .limit_depth(app.limits.max_depth.max(depth::INTROSPECTION_MAX_DEPTH))
    .limit_complexity(app.limits.max_complexity)
    .limit_recursive_depth(guard::MAX_RECURSION)
    .limit_directives(16);
    if app.limits.disable_introspection {
        builder = builder.disable_introspection();
    }
    builder
}

/// The SDL of the schema (`oms schema`, and the checked-in `schema.graphql`), with each
/// scalar's `@specifiedBy` URL, as introspection answers it (`specifiedByURL`).
pub fn sdl() -> String {
    Schema::build(
        Query::default(),
        Mutation::default(),
        events::EventSubscription,
    )
    .finish()
    .sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by())
}

/// Request-scoped data to attach to each GraphQL request.
pub fn request_data(app: &App, actor: Option<Actor>) -> (Viewer, Loaders) {
    let scope = actor.and_then(|a| a.scope().seller());
    (
        Viewer(actor),
        Loaders::new(
            app.db.clone(),
            scope,
            std::time::Duration::from_micros(app.limits.loader_delay_us),
        ),
    )
}

pub(crate) fn app<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a App> {
    ctx.data::<App>()
}

pub(crate) fn viewer(ctx: &Context<'_>) -> Option<Actor> {
    ctx.data_opt::<Viewer>().and_then(|v| v.0)
}

pub(crate) fn loaders<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Loaders> {
    ctx.data::<Loaders>()
}

/// The caller, or UNAUTHENTICATED.
pub(crate) fn require_actor(ctx: &Context<'_>) -> async_graphql::Result<Actor> {
    viewer(ctx).ok_or_else(|| to_graphql_error(ServiceError::Unauthenticated))
}

/// The caller, if it may change things; ANALYSTs get FORBIDDEN.
pub(crate) fn require_writer(ctx: &Context<'_>) -> async_graphql::Result<Actor> {
    let actor = require_actor(ctx)?;
    if actor.may_write() {
        Ok(actor)
    } else {
        Err(to_graphql_error(ServiceError::Forbidden(
            "an ANALYST reads everything and changes nothing".into(),
        )))
    }
}

/// Maps a loader's database failure to INTERNAL.
pub(crate) fn load<T>(r: Result<T, Arc<DbErr>>) -> async_graphql::Result<T> {
    r.map_err(|e| to_graphql_error(ServiceError::Db(DbErr::Custom(e.to_string()))))
}

/// Maps a stored value the code does not understand to INTERNAL.
pub(crate) fn corrupt(e: crate::domain::order::UnknownName) -> async_graphql::Error {
    to_graphql_error(ServiceError::from(e))
}
