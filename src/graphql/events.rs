//! Events over GraphQL: the live `claimEvents` subscription, sellers' partner webhooks with
//! their delivery log, and the outbox for operators.

use async_graphql::{
    Context, Enum, InputObject, Json, Object, Result, SimpleObject, Subscription, ID,
};
use chrono::{DateTime, Utc};
use entity::{outbox_delivery, outbox_message, webhook_endpoint};
use futures_util::Stream;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::ids::{parse, to_id, Kind};
use super::text::{self, TextInput, Texts};
use super::types::claim::{FaultChange, FeeChange};
use super::types::payloads::{payload, refusable, refusal};
use super::{app, require_actor, require_writer, viewer};
use crate::app::App;
use crate::codes::ErrorCode;
use crate::domain::actor::Actor;
use crate::domain::claim::TermsChange;
use crate::domain::text as limit;
use crate::error::{to_graphql_error, ServiceError, UserError};
use crate::outbox::live::{ConnectionSubscriptions, SubscriptionCaps};
use crate::outbox::{self, Event};
use crate::repo::outbox::EventScope;
use crate::service::reads;
use crate::service::webhooks;

/// A claim's transition as it committed: the timeline event (`Claim.timeline`) plus which
/// claim and order it belongs to, and its event id.
#[derive(SimpleObject, Clone)]
pub struct LiveClaimEvent {
    /// Stable event id (`evt_42`), the same in webhooks and on the NATS stream.
    pub event_id: String,
    /// `claim.` + the new status in lower case (`claim.exchange_collected`).
    pub event_type: String,
    /// The claim (클레임 번호).
    pub claim_number: String,
    /// Its order (주문번호).
    pub order_number: String,
    /// CANCEL, RETURN or EXCHANGE.
    pub claim_type: String,
    /// The action taken (`APPROVE`, `MARK_COLLECTED`, ...).
    pub action: String,
    /// Who took it (`CUSTOMER`, `SELLER`, `OPERATOR`, `SYSTEM`).
    pub actor: String,
    /// The claim's status before (null when it was opened).
    pub from_status: Option<String>,
    /// Its status after.
    pub status: String,
    /// The claim's version after the transition.
    pub version: i32,
    /// When it committed.
    pub occurred_at: DateTime<Utc>,
    /// When the transition moved the claim's fault: from whom, to whom, and why
    /// (`ClaimEvent.faultChange`).
    pub fault_change: Option<FaultChange>,
    /// When the transition changed the fees the customer bears: before, after, and why
    /// (`ClaimEvent.feeChange`).
    pub fee_change: Option<FeeChange>,
}

impl LiveClaimEvent {
    fn from_event(e: Event) -> Option<LiveClaimEvent> {
        let terms = TermsChange::deserialize(&e.data).unwrap_or_default();
        Some(LiveClaimEvent {
            event_id: e.event_id,
            event_type: e.event_type,
            claim_number: e.claim_number?,
            order_number: e.order_number,
            claim_type: e.claim_type.unwrap_or_default(),
            action: e.data["action"].as_str().unwrap_or_default().to_owned(),
            actor: e.data["actor"].as_str().unwrap_or_default().to_owned(),
            from_status: e.data["fromStatus"].as_str().map(str::to_owned),
            status: e.status.unwrap_or_default(),
            version: e.data["version"]
                .as_i64()
                .and_then(|v| i32::try_from(v).ok())
                .unwrap_or_default(),
            occurred_at: e.occurred_at,
            fault_change: terms.fault_change.map(Into::into),
            fee_change: terms.fee_change.map(Into::into),
        })
    }
}

/// Live updates.
#[derive(Default)]
pub struct EventSubscription;

#[Subscription]
impl EventSubscription {
    /// Claim transitions as they commit, in order, on every replica (read from the outbox):
    /// a CUSTOMER's own claims, a SELLER's own, everything for staff; narrowed to one order,
    /// one claim or one seller when given; another tenant's order, claim or seller is
    /// `NOT_FOUND`. Authenticate with the WebSocket's `connection_init` payload
    /// `{"Authorization": "Bearer <token>"}`. At most `--max-subscriptions-per-connection`
    /// (50) open on one WebSocket and `--max-subscriptions-per-actor` (100) per customer or
    /// seller on one server (`TOO_MANY_SUBSCRIPTIONS`); a subscriber more than 2,048 events
    /// behind is completed and may subscribe again.
    async fn claim_events(
        &self,
        ctx: &Context<'_>,
        order_number: Option<String>,
        claim_number: Option<String>,
        seller_id: Option<ID>,
    ) -> Result<impl Stream<Item = LiveClaimEvent>> {
        let actor = viewer(ctx).ok_or_else(|| to_graphql_error(ServiceError::Unauthenticated))?;
        let app = app(ctx)?.clone();
        let scope = scope(&app, actor, order_number, claim_number, seller_id)
            .await
            .map_err(to_graphql_error)?;
        let caps = SubscriptionCaps {
            per_connection: app.limits.max_subscriptions_per_connection,
            per_actor: app.limits.max_subscriptions_per_actor,
        };
        let ticket = app
            .live
            .admit(
                actor,
                ctx.data_opt::<ConnectionSubscriptions>(),
                caps,
                &app.metrics,
            )
            .map_err(|refusal| ErrorCode::TooManySubscriptions.error(refusal.to_string()))?;
        let receiver = app
            .live
            .receiver()
            .await
            .map_err(|e| to_graphql_error(e.into()))?;
        Ok(futures_util::stream::unfold(
            (receiver, scope, ticket),
            |(mut receiver, scope, ticket)| async move {
                loop {
                    match receiver.recv().await {
                        Ok(m) if m.admitted_by(&scope) => {
                            if let Some(e) = LiveClaimEvent::from_event(m.event.clone()) {
                                return Some((e, (receiver, scope, ticket)));
                            }
                        }
                        Ok(_) => {}
                        // A subscriber that cannot keep up ends; it can subscribe again.
                        Err(RecvError::Lagged(missed)) => {
                            tracing::warn!(missed, "claimEvents: a subscriber fell behind");
                            return None;
                        }
                        Err(RecvError::Closed) => return None,
                    }
                }
            },
        ))
    }
}

/// What a subscriber may see, narrowed by its arguments; another tenant's order or claim is
/// "not found".
async fn scope(
    app: &App,
    actor: Actor,
    order_number: Option<String>,
    claim_number: Option<String>,
    seller_id: Option<ID>,
) -> Result<EventScope, ServiceError> {
    let mut scope = EventScope::default();
    match actor {
        Actor::Customer(id) => scope.customer_id = Some(id),
        Actor::Seller(id) => scope.seller_id = Some(id),
        Actor::Operator | Actor::Analyst => {}
        Actor::System => {
            return Err(ServiceError::Forbidden(
                "subscriptions are for people".into(),
            ))
        }
    }
    // A number over its limit (or with a NUL, which PostgreSQL cannot compare) names nothing:
    // the lookups in `reads` answer none without asking the database.
    if let Some(n) = order_number {
        let Some(o) = reads::order_by_number(app, actor, &n).await? else {
            return Err(UserError::not_found(&["orderNumber"], "order").into());
        };
        scope.order_id = Some(o.id);
    }
    if let Some(n) = claim_number {
        let claim = reads::claim_by_number(app, actor, &n).await?;
        // A claim of another order than the one named matches nothing: say so.
        let in_order = |c: &entity::claim::Model| scope.order_id.is_none_or(|o| o == c.order_id);
        match claim {
            Some(c) if in_order(&c) => scope.claim_id = Some(c.id),
            Some(_) | None => return Err(UserError::not_found(&["claimNumber"], "claim").into()),
        }
    }
    if let Some(s) = seller_id {
        let s = parse(&s, Kind::Seller)?;
        let known = match scope.seller_id {
            Some(own) => own == s,
            None => reads::seller_exists(app, s).await?,
        };
        if !known {
            return Err(UserError::not_found(&["sellerId"], "seller").into());
        }
        scope.seller_id = Some(s);
    }
    Ok(scope)
}

/// A seller's partner endpoint (the secret is shown once, when registered or rotated).
pub struct Webhook(pub webhook_endpoint::Model);

#[Object]
impl Webhook {
    /// Global ID (`gid://oms/Webhook/N`).
    async fn id(&self) -> ID {
        to_id(Kind::Webhook, self.0.id)
    }

    /// The seller whose events it receives.
    async fn seller_id(&self) -> ID {
        to_id(Kind::Seller, self.0.seller_id)
    }

    /// Where deliveries are POSTed.
    async fn url(&self) -> &str {
        &self.0.url
    }

    /// The event types it receives (`claim.*`, `order.shipped`, `*`).
    async fn event_types(&self) -> Vec<&str> {
        self.0.event_types.split(',').collect()
    }

    /// What the partner called it.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// Until when a rotated-out secret still signs deliveries (alongside the new one).
    async fn previous_secret_valid_until(&self) -> Option<DateTime<Utc>> {
        self.0
            .previous_secret
            .as_ref()
            .and(self.0.previous_secret_until)
    }

    /// When it was registered.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Where a delivery went.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum DeliveryDestination {
    /// Mail to the customer or the seller.
    Email,
    /// 알림톡 to a mobile number.
    Alimtalk,
    /// A partner webhook.
    Webhook,
    /// The NATS event stream.
    Nats,
}

/// Where a delivery stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt.
    Pending,
    /// Delivered.
    Delivered,
    /// Given up after the last attempt (dead letter); `retryOutboxMessage` sends it again.
    Dead,
}

fn delivery_status(s: &str) -> Result<DeliveryStatus> {
    match s {
        "PENDING" => Ok(DeliveryStatus::Pending),
        "DELIVERED" => Ok(DeliveryStatus::Delivered),
        "DEAD" => Ok(DeliveryStatus::Dead),
        other => Err(corrupt("delivery status", other)),
    }
}

/// A stored value no release of this server writes.
fn corrupt(what: &str, value: &str) -> async_graphql::Error {
    to_graphql_error(ServiceError::Corrupt(format!("unknown {what} `{value}`")))
}

/// One destination of an event, with its attempts.
pub struct Delivery(pub outbox_delivery::Model);

#[Object]
impl Delivery {
    /// Where it goes.
    async fn destination(&self) -> Result<DeliveryDestination> {
        match self.0.destination.as_str() {
            "EMAIL" => Ok(DeliveryDestination::Email),
            "ALIMTALK" => Ok(DeliveryDestination::Alimtalk),
            "NATS" => Ok(DeliveryDestination::Nats),
            "WEBHOOK" => Ok(DeliveryDestination::Webhook),
            other => Err(corrupt("delivery destination", other)),
        }
    }

    /// CUSTOMER, SELLER, PARTNER (webhooks) or STREAM (NATS).
    async fn audience(&self) -> &str {
        &self.0.audience
    }

    /// The address, number, URL or subject.
    async fn target(&self) -> &str {
        &self.0.target
    }

    /// The notification template, for mail and 알림톡.
    async fn template(&self) -> Option<&str> {
        self.0.template.as_deref()
    }

    /// Where it stands.
    async fn status(&self) -> Result<DeliveryStatus> {
        delivery_status(&self.0.status)
    }

    /// Attempts made.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }

    /// When the next attempt is due (for pending deliveries).
    async fn next_attempt_at(&self) -> DateTime<Utc> {
        self.0.next_attempt_at
    }

    /// Why the last attempt failed.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }

    /// The receiver's HTTP status on the last attempt (webhooks).
    async fn response_status(&self) -> Option<i32> {
        self.0.response_status
    }

    /// When it was delivered.
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
}

/// A message of the transactional outbox: one committed transition and its deliveries.
pub struct OutboxMessage(pub outbox_message::Model, pub Vec<outbox_delivery::Model>);

#[Object]
impl OutboxMessage {
    /// The message's number (`retryOutboxMessage` takes it).
    async fn id(&self) -> i64 {
        self.0.id
    }

    /// Stable event id (`evt_42`).
    async fn event_id(&self) -> String {
        outbox::event_id(self.0.id)
    }

    /// `order.shipped`, `claim.exchange_collected`, ...
    async fn event_type(&self) -> &str {
        &self.0.event_type
    }

    /// The event's details as written with the transition.
    async fn payload(&self) -> Json<serde_json::Value> {
        Json(serde_json::from_str(&self.0.payload).unwrap_or_default())
    }

    /// When the transition committed.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When the dispatcher expanded it into deliveries (null: not yet).
    async fn dispatched_at(&self) -> Option<DateTime<Utc>> {
        self.0.dispatched_at
    }

    /// Its deliveries.
    async fn deliveries(&self) -> Vec<Delivery> {
        self.1.iter().cloned().map(Delivery).collect()
    }
}

/// A delivery of an event to a partner endpoint (the seller's delivery log).
pub struct WebhookDelivery(pub outbox_delivery::Model);

#[Object]
impl WebhookDelivery {
    /// The `webhook-id` the partner received (the event id): the same on every retry.
    async fn webhook_id(&self) -> String {
        outbox::event_id(self.0.message_id)
    }

    /// Where it stands.
    async fn status(&self) -> Result<DeliveryStatus> {
        delivery_status(&self.0.status)
    }

    /// Attempts made.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }

    /// The endpoint's HTTP status on the last attempt.
    async fn response_status(&self) -> Option<i32> {
        self.0.response_status
    }

    /// Why the last attempt failed, coarsely: `could not connect`, `timed out`, `answered 500`,
    /// `answered 302 (redirects are not followed)`, `address not allowed: private network`, ...
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }

    /// When the next attempt is due.
    async fn next_attempt_at(&self) -> DateTime<Utc> {
        self.0.next_attempt_at
    }

    /// When it was delivered.
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }
}

fn webhook_id(id: &ID) -> Result<i64, ServiceError> {
    parse(id, Kind::Webhook)
}

fn seller(id: &Option<ID>) -> Result<Option<i64>, ServiceError> {
    id.as_ref().map(|s| parse(s, Kind::Seller)).transpose()
}

/// Event queries.
#[derive(Default)]
pub struct EventQuery;

#[Object]
impl EventQuery {
    /// A seller's webhook endpoints (a SELLER sees its own; staff every seller's).
    async fn webhooks(&self, ctx: &Context<'_>, seller_id: Option<ID>) -> Result<Vec<Webhook>> {
        let actor = require_actor(ctx)?;
        let seller = seller(&seller_id).map_err(to_graphql_error)?;
        Ok(webhooks::list(app(ctx)?, actor, seller)
            .await
            .map_err(to_graphql_error)?
            .into_iter()
            .map(Webhook)
            .collect())
    }

    /// The delivery log of one endpoint, newest first: its seller's, and staff's. Another
    /// seller's endpoint, or one that does not exist, has an empty log (not found, as a list).
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        webhook_id: ID,
        #[graphql(default = 50, validator(minimum = 1, maximum = 200))] first: i32,
    ) -> Result<Vec<WebhookDelivery>> {
        let actor = require_actor(ctx)?;
        let id = self::webhook_id(&webhook_id).map_err(to_graphql_error)?;
        Ok(
            webhooks::deliveries(app(ctx)?, actor, id, u64::try_from(first).unwrap_or(50))
                .await
                .map_err(to_graphql_error)?
                .into_iter()
                .map(WebhookDelivery)
                .collect(),
        )
    }

    /// The transactional outbox, newest first, with every delivery's attempts, next attempt
    /// and last error (OPERATOR). `status: DEAD` lists the messages with a dead letter.
    async fn outbox_messages(
        &self,
        ctx: &Context<'_>,
        status: Option<DeliveryStatus>,
        before: Option<i64>,
        #[graphql(default = 50, validator(minimum = 1, maximum = 200))] first: i32,
    ) -> Result<Vec<OutboxMessage>> {
        let actor = require_actor(ctx)?;
        let status = status.map(|s| match s {
            DeliveryStatus::Pending => "PENDING",
            DeliveryStatus::Delivered => "DELIVERED",
            DeliveryStatus::Dead => "DEAD",
        });
        Ok(webhooks::messages(
            app(ctx)?,
            actor,
            status,
            before,
            u64::try_from(first).unwrap_or(50),
        )
        .await
        .map_err(to_graphql_error)?
        .into_iter()
        .map(|(m, d)| OutboxMessage(m, d))
        .collect())
    }
}

/// Register a partner endpoint.
#[derive(InputObject)]
pub struct RegisterWebhookInput {
    /// The seller (an OPERATOR names it; a SELLER may leave it out).
    pub seller_id: Option<ID>,
    /// Where to POST deliveries: https:// (plain http:// only to the development networks of
    /// `--webhook-allow-networks`). At most 2,000 characters, one line.
    pub url: String,
    /// Event types: `*`, `order.*`, `claim.*`, or exact types (`claim.exchange_collected`).
    /// At most 64 entries, each at most 64 characters, one line.
    pub event_types: Vec<String>,
    /// A note for the partner. At most 500 characters (line breaks and tabs allowed).
    pub description: Option<String>,
}

impl TextInput for RegisterWebhookInput {
    fn texts(&self) -> Texts {
        Texts::default()
            .field("url", &self.url, limit::WEBHOOK_URL)
            .list(
                "eventTypes",
                &self.event_types,
                limit::EVENT_TYPES,
                limit::EVENT_TYPE,
            )
            .optional(
                "description",
                self.description.as_deref(),
                limit::WEBHOOK_DESCRIPTION,
            )
    }
}

/// An endpoint, by id.
#[derive(InputObject)]
pub struct WebhookInput {
    /// The endpoint (`Webhook.id`).
    pub webhook_id: ID,
}

/// Send a message's undelivered deliveries again.
#[derive(InputObject)]
pub struct RetryOutboxMessageInput {
    /// `OutboxMessage.id`.
    pub message_id: i64,
}

/// The result of registering or rotating: the secret, shown this once.
#[derive(SimpleObject, Default)]
pub struct WebhookSecretPayload {
    /// The endpoint.
    pub webhook: Option<Webhook>,
    /// The signing secret (`whsec_...`): keep it; it is never shown again.
    pub secret: Option<String>,
    /// Why the request was refused.
    pub user_errors: Vec<UserError>,
}

/// The result of deleting an endpoint.
#[derive(SimpleObject, Default)]
pub struct DeleteWebhookPayload {
    /// The deleted endpoint's id.
    pub deleted_webhook_id: Option<ID>,
    /// Why the request was refused.
    pub user_errors: Vec<UserError>,
}

/// The result of retrying an outbox message.
#[derive(SimpleObject, Default)]
pub struct RetryOutboxMessagePayload {
    /// Deliveries sent again.
    pub retried: i32,
    /// Why the request was refused.
    pub user_errors: Vec<UserError>,
}

refusable!(
    WebhookSecretPayload,
    DeleteWebhookPayload,
    RetryOutboxMessagePayload
);

fn secret_payload(r: Result<webhooks::Registered, ServiceError>) -> Result<WebhookSecretPayload> {
    payload(r, |reg| WebhookSecretPayload {
        webhook: Some(Webhook(reg.endpoint)),
        secret: Some(reg.secret),
        user_errors: Vec::new(),
    })
}

/// Event mutations.
#[derive(Default)]
pub struct EventMutation;

#[Object]
impl EventMutation {
    /// Registers a partner endpoint for a seller's events (SELLER for itself, OPERATOR for
    /// any). Deliveries follow Standard Webhooks: `webhook-id` (the event id, stable across
    /// retries), `webhook-timestamp`, `webhook-signature` (`v1,` + HMAC-SHA256); retried with
    /// exponential backoff. The secret is in this payload only.
    async fn register_webhook(
        &self,
        ctx: &Context<'_>,
        input: RegisterWebhookInput,
    ) -> Result<WebhookSecretPayload> {
        if let Some(refused) = text::refusal(&input) {
            return Ok(refused);
        }
        let actor = require_writer(ctx)?;
        let seller = match seller(&input.seller_id) {
            Ok(seller) => seller,
            Err(e) => return refusal(e),
        };
        secret_payload(
            webhooks::register(
                app(ctx)?,
                actor,
                seller,
                input.url.trim(),
                &input.event_types,
                input.description,
            )
            .await,
        )
    }

    /// A new signing secret, shown once; the old one keeps signing alongside for 24 hours so
    /// the partner can switch over.
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        input: WebhookInput,
    ) -> Result<WebhookSecretPayload> {
        let actor = require_writer(ctx)?;
        let id = match webhook_id(&input.webhook_id) {
            Ok(id) => id,
            Err(e) => return refusal(e),
        };
        secret_payload(webhooks::rotate(app(ctx)?, actor, id).await)
    }

    /// Deletes an endpoint; pending deliveries to it are dropped, the log stays.
    async fn delete_webhook(
        &self,
        ctx: &Context<'_>,
        input: WebhookInput,
    ) -> Result<DeleteWebhookPayload> {
        let actor = require_writer(ctx)?;
        let id = match webhook_id(&input.webhook_id) {
            Ok(id) => id,
            Err(e) => return refusal(e),
        };
        payload(webhooks::delete(app(ctx)?, actor, id).await, |w| {
            DeleteWebhookPayload {
                deleted_webhook_id: Some(to_id(Kind::Webhook, w.id)),
                user_errors: Vec::new(),
            }
        })
    }

    /// Sends a message's undelivered (pending or dead) deliveries again now, with a fresh
    /// count of attempts (OPERATOR).
    async fn retry_outbox_message(
        &self,
        ctx: &Context<'_>,
        input: RetryOutboxMessageInput,
    ) -> Result<RetryOutboxMessagePayload> {
        let actor = require_writer(ctx)?;
        payload(
            webhooks::retry(app(ctx)?, actor, input.message_id).await,
            |n| RetryOutboxMessagePayload {
                retried: i32::try_from(n).unwrap_or(i32::MAX),
                user_errors: Vec::new(),
            },
        )
    }
}
