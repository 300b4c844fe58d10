//! Partner webhooks and the outbox as operators see it: a seller registers endpoints for the
//! event types it wants (its own events only), sees its delivery log, rotates and deletes;
//! OPERATORs read every message with its deliveries and send dead ones again.

use chrono::Duration;
use entity::{outbox_delivery, outbox_message, webhook_endpoint};
use sea_orm::Set;

use crate::app::App;
use crate::domain::actor::Actor;
use crate::error::{ServiceError, UserError, UserErrorCode};
use crate::repo;

/// How long a rotated-out secret still signs deliveries, so a partner can switch over.
pub const ROTATION_GRACE_HOURS: i64 = 24;

/// A registration: the endpoint and its secret, shown once.
#[derive(Debug, Clone)]
pub struct Registered {
    /// The endpoint.
    pub endpoint: webhook_endpoint::Model,
    /// Its signing secret (`whsec_...`): returned by the mutation that creates or rotates it,
    /// never again.
    pub secret: String,
}

/// What a caller wants to do with an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    /// Read it and its delivery log (its seller, OPERATOR, ANALYST).
    Read,
    /// Rotate or delete it (its seller, OPERATOR).
    Manage,
}

/// The one gate for endpoints: the row when `actor` may `use_` it, `None` when it does not
/// exist or belongs to another seller (no existence leak), FORBIDDEN for a role that may
/// never do this.
async fn gate(
    app: &App,
    actor: Actor,
    id: i64,
    use_: Use,
) -> Result<Option<webhook_endpoint::Model>, ServiceError> {
    let may = match (actor, use_) {
        (Actor::Operator, _) | (Actor::Analyst, Use::Read) => None,
        (Actor::Seller(own), _) => Some(own),
        (Actor::Analyst, Use::Manage) | (Actor::Customer(_) | Actor::System, _) => {
            return Err(ServiceError::Forbidden(match use_ {
                Use::Read => "webhooks are visible to their seller and staff".into(),
                Use::Manage => "webhooks are managed by their seller or an operator".into(),
            }))
        }
    };
    let row = repo::outbox::webhook_by_id(app.db.conn(), id).await?;
    Ok(row.filter(|w| may.is_none_or(|own| w.seller_id == own)))
}

/// An endpoint `actor` may manage, or "not found".
async fn managed(
    app: &App,
    actor: Actor,
    id: i64,
) -> Result<webhook_endpoint::Model, ServiceError> {
    gate(app, actor, id, Use::Manage)
        .await?
        .ok_or_else(|| UserError::not_found(&["webhookId"], "webhook").into())
}

/// The URL to store, or why it is refused: the target rules of `outbox::target` with this
/// server's allow-list, and the name's addresses when it resolves now.
async fn check_url(app: &App, url: &str) -> Result<String, UserError> {
    // The existing bound on the text; the per-field length limits are the input guard's.
    if url.len() > 2000 {
        return Err(UserError::new(
            UserErrorCode::InvalidWebhook,
            &["url"],
            "url must be at most 2000 characters",
        ));
    }
    app.outbox
        .webhooks
        .targets()
        .vet(url)
        .await
        .map(String::from)
        .map_err(|refusal| {
            UserError::new(UserErrorCode::InvalidWebhook, &["url"], refusal.to_string())
        })
}

fn check_event_types(types: &[String]) -> Result<String, UserError> {
    let known =
        |t: &str| t == "*" || t == "order.*" || t == "claim.*" || crate::outbox::is_event_type(t);
    if types.is_empty() {
        return Err(UserError::new(
            UserErrorCode::InvalidWebhook,
            &["eventTypes"],
            "name at least one event type (e.g. claim.*, order.shipped)",
        ));
    }
    if let Some(bad) = types.iter().find(|t| !known(t)) {
        return Err(UserError::new(
            UserErrorCode::InvalidWebhook,
            &["eventTypes"],
            format!("unknown event type `{bad}`: use `*`, `order.*`, `claim.*` or a type from docs/notifications.md"),
        ));
    }
    Ok(types.join(","))
}

/// Registers an endpoint for a seller's events; the secret is in the result, once.
pub async fn register(
    app: &App,
    actor: Actor,
    seller_id: Option<i64>,
    url: &str,
    event_types: &[String],
    description: Option<String>,
) -> Result<Registered, ServiceError> {
    let seller_id = super::access::managed_seller(app, actor, seller_id, "webhooks").await?;
    let types = check_event_types(event_types)?;
    let url = check_url(app, url).await?;
    let secret = crate::webhook::new_secret();
    let txn = app.db.write().await?;
    // Every event fans out to each endpoint: a seller's endpoints are bounded.
    let registered = repo::outbox::webhooks(&*txn, Some(&[seller_id]))
        .await?
        .len();
    if registered >= MAX_WEBHOOKS_PER_SELLER {
        return Err(UserError::general(
            UserErrorCode::InvalidWebhook,
            format!(
                "a seller may register at most {MAX_WEBHOOKS_PER_SELLER} webhook endpoints; \
                 delete one it no longer needs first"
            ),
        )
        .into());
    }
    let id = repo::outbox::insert_webhook(
        &*txn,
        webhook_endpoint::ActiveModel {
            seller_id: Set(seller_id),
            url: Set(url),
            event_types: Set(types),
            description: Set(description),
            secret: Set(secret.clone()),
            previous_secret: Set(None),
            previous_secret_until: Set(None),
            created_at: Set(app.clock.now()),
            ..Default::default()
        },
    )
    .await?;
    txn.commit().await?;
    let endpoint = repo::outbox::webhook_by_id(app.db.conn(), id)
        .await?
        .ok_or_else(|| ServiceError::Corrupt("the new webhook vanished".into()))?;
    Ok(Registered { endpoint, secret })
}

/// Most endpoints one seller may register.
pub const MAX_WEBHOOKS_PER_SELLER: usize = 20;

/// A new secret for an endpoint; the old one keeps signing (alongside) for 24 hours.
pub async fn rotate(app: &App, actor: Actor, id: i64) -> Result<Registered, ServiceError> {
    let w = managed(app, actor, id).await?;
    let secret = crate::webhook::new_secret();
    let txn = app.db.write().await?;
    repo::outbox::rotate_secret(
        &*txn,
        &w,
        &secret,
        app.clock.now() + Duration::hours(ROTATION_GRACE_HOURS),
    )
    .await?;
    txn.commit().await?;
    let endpoint = repo::outbox::webhook_by_id(app.db.conn(), id)
        .await?
        .ok_or_else(|| ServiceError::Corrupt("the webhook vanished".into()))?;
    Ok(Registered { endpoint, secret })
}

/// Deletes an endpoint (its pending deliveries are dropped; the log stays).
pub async fn delete(
    app: &App,
    actor: Actor,
    id: i64,
) -> Result<webhook_endpoint::Model, ServiceError> {
    let w = managed(app, actor, id).await?;
    let txn = app.db.write().await?;
    repo::outbox::delete_webhook(&*txn, id).await?;
    txn.commit().await?;
    Ok(w)
}

/// Endpoints `actor` may see.
pub async fn list(
    app: &App,
    actor: Actor,
    seller_id: Option<i64>,
) -> Result<Vec<webhook_endpoint::Model>, ServiceError> {
    let scope = match (actor, seller_id) {
        (Actor::Seller(own), Some(s)) if s != own => return Ok(Vec::new()),
        (Actor::Seller(own), _) => Some(own),
        (Actor::Operator | Actor::Analyst, s) => s,
        (Actor::Customer(_) | Actor::System, _) => {
            return Err(ServiceError::Forbidden(
                "webhooks are visible to their seller and staff".into(),
            ))
        }
    };
    let ids = scope.map(|s| vec![s]);
    Ok(repo::outbox::webhooks(app.db.conn(), ids.as_deref()).await?)
}

/// An endpoint's delivery log, newest first; empty for another seller's endpoint or one
/// that does not exist (a list of one object's: "not found" is nothing to list).
pub async fn deliveries(
    app: &App,
    actor: Actor,
    id: i64,
    first: u64,
) -> Result<Vec<outbox_delivery::Model>, ServiceError> {
    match gate(app, actor, id, Use::Read).await? {
        Some(w) => Ok(repo::outbox::webhook_deliveries(app.db.conn(), w.id, first).await?),
        None => Ok(Vec::new()),
    }
}

/// Outbox messages with their deliveries, newest first (OPERATOR).
pub async fn messages(
    app: &App,
    actor: Actor,
    status: Option<&str>,
    before: Option<i64>,
    first: u64,
) -> Result<Vec<(outbox_message::Model, Vec<outbox_delivery::Model>)>, ServiceError> {
    if !matches!(actor, Actor::Operator | Actor::System) {
        return Err(ServiceError::Forbidden(
            "the outbox is visible to operators".into(),
        ));
    }
    let db = app.db.conn();
    let messages = repo::outbox::page_messages(db, status, before, first).await?;
    let ids: Vec<i64> = messages.iter().map(|m| m.id).collect();
    let mut deliveries = repo::outbox::deliveries_of(db, &ids).await?;
    Ok(messages
        .into_iter()
        .map(|m| {
            let (mine, rest): (Vec<_>, Vec<_>) =
                deliveries.drain(..).partition(|d| d.message_id == m.id);
            deliveries = rest;
            (m, mine)
        })
        .collect())
}

/// Sends a message's undelivered deliveries again now (OPERATOR); how many.
pub async fn retry(app: &App, actor: Actor, message_id: i64) -> Result<u64, ServiceError> {
    if !matches!(actor, Actor::Operator) {
        return Err(ServiceError::Forbidden(
            "only an operator retries outbox messages".into(),
        ));
    }
    let txn = app.db.write().await?;
    let n = repo::outbox::retry_message(&*txn, message_id, app.clock.now()).await?;
    txn.commit().await?;
    if n == 0 {
        return Err(UserError::new(
            UserErrorCode::NotFound,
            &["messageId"],
            "no undelivered deliveries of that message (unknown, or all delivered)",
        )
        .into());
    }
    Ok(n)
}
