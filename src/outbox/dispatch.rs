//! The dispatcher: expands committed messages into deliveries and delivers them at least once.
//!
//! 1. **Expand**: messages not yet dispatched (on PostgreSQL `FOR UPDATE SKIP LOCKED`, so
//!    replicas share the work) become one delivery per destination — the notifications of
//!    `notify::routing`, the seller's matching webhook endpoints, the NATS stream — inserted
//!    in the same transaction that marks the message dispatched.
//! 2. **Lease**: due deliveries are leased (`locked_until`) in a short transaction, again with
//!    `SKIP LOCKED`; two dispatchers never hold the same delivery.
//! 3. **Deliver** outside any transaction, then record the attempt: delivered, or retried with
//!    exponential backoff, or dead-lettered after [`MAX_ATTEMPTS`]. A dispatcher that dies
//!    between delivering and recording leaves the lease to expire: the delivery happens again,
//!    with the same event id, so receivers de-duplicate.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{outbox_delivery, webhook_endpoint};
use futures_util::StreamExt;
use sea_orm::Set;

use super::stream::NatsStream;
use super::webhook_client::WebhookClient;
use super::{events, Audience, Event};
use crate::app::App;
use crate::error::ServiceError;
use crate::notify::channels::{Mailer, Messenger};
use crate::notify::routing::notifications_for_event;
use crate::notify::templates::{render, Names};
use crate::repo;
use crate::repo::outbox::Attempt;

/// Attempts before a delivery is dead-lettered (visible in `outboxMessages`, retried only by
/// `retryOutboxMessage`).
pub const MAX_ATTEMPTS: i32 = 8;

/// Deliveries taken per round.
const BATCH: u64 = 64;

/// Deliveries in flight at once per dispatcher.
const CONCURRENCY: usize = 16;

/// What carries deliveries: the notification channels, the HTTP client for webhooks, the
/// NATS stream.
pub struct Channels {
    /// Mail (SMTP, or the log).
    pub mailer: Mailer,
    /// 알림톡 (an HTTP gateway, or the log).
    pub messenger: Messenger,
    /// Partner webhooks, and where they may go.
    pub webhooks: WebhookClient,
    /// The event stream, when configured.
    pub nats: Option<NatsStream>,
    /// How long a leased delivery stays with its dispatcher before another may take it.
    pub lease: Duration,
}

impl Channels {
    /// Log-only channels: notifications are written to the log, no stream; webhooks go
    /// through `webhooks`.
    pub fn log_only(webhooks: WebhookClient) -> Channels {
        Channels {
            mailer: Mailer::Log,
            messenger: Messenger::Log,
            webhooks,
            nats: None,
            lease: Duration::from_secs(30),
        }
    }
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    /// Messages expanded into deliveries.
    pub expanded: usize,
    /// Deliveries delivered.
    pub delivered: usize,
    /// Deliveries that failed and will be retried.
    pub retried: usize,
    /// Deliveries dead-lettered.
    pub dead: usize,
}

impl Report {
    /// True when the round found work (so the next one should not wait).
    pub fn busy(&self) -> bool {
        self.expanded + self.delivered + self.retried + self.dead > 0
    }
}

/// One round: expand, lease, deliver, record.
pub async fn dispatch_once(app: &App) -> Result<Report, ServiceError> {
    if !repo::outbox::has_work(app.db.conn(), app.clock.now()).await? {
        return Ok(Report::default());
    }
    let expanded = expand(app).await?;
    let mut report = deliver_due(app).await?;
    report.expanded = expanded;
    Ok(report)
}

/// Runs rounds for as long as the server runs: immediately again after a busy round, else
/// after `idle`.
pub async fn run_forever(app: App, idle: Duration) {
    loop {
        match dispatch_once(&app).await {
            Ok(r) if r.busy() => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!("outbox dispatch failed: {e}"),
        }
        tokio::time::sleep(idle).await;
    }
}

async fn expand(app: &App) -> Result<usize, ServiceError> {
    let now = app.clock.now();
    let txn = app.db.write().await?;
    let messages = repo::outbox::undispatched(&*txn, 200).await?;
    if messages.is_empty() {
        return Ok(0);
    }
    let events = events(&*txn, &messages).await?;
    let contacts = Contacts::load(&*txn, &events).await?;
    let seller_ids: Vec<i64> = contacts.sellers.keys().copied().collect();
    let hooks = repo::outbox::webhooks(&*txn, Some(&seller_ids)).await?;
    let mut rows = Vec::new();
    for e in &events {
        for d in destinations(app, e, &contacts, &hooks) {
            rows.push(outbox_delivery::ActiveModel {
                message_id: Set(e.id),
                destination: Set(d.destination.to_owned()),
                audience: Set(d.audience.to_owned()),
                target: Set(d.target),
                webhook_id: Set(d.webhook_id),
                template: Set(d.template),
                status: Set("PENDING".into()),
                attempts: Set(0),
                next_attempt_at: Set(now),
                created_at: Set(now),
                ..Default::default()
            });
        }
    }
    repo::outbox::insert_deliveries(&*txn, rows).await?;
    let ids: Vec<i64> = messages.iter().map(|m| m.id).collect();
    repo::outbox::mark_dispatched(&*txn, &ids, now).await?;
    txn.commit().await?;
    Ok(ids.len())
}

/// A destination of one event.
struct Destination {
    destination: &'static str,
    audience: &'static str,
    target: String,
    webhook_id: Option<i64>,
    template: Option<String>,
}

/// The names and addresses notifications go to.
struct Contacts {
    customers: HashMap<i64, entity::customer::Model>,
    sellers: HashMap<i64, entity::seller::Model>,
}

impl Contacts {
    async fn load(
        db: &impl sea_orm::ConnectionTrait,
        events: &[Event],
    ) -> Result<Contacts, ServiceError> {
        let customer_ids: Vec<i64> = events.iter().map(|e| e.customer_id).collect();
        let seller_ids: Vec<i64> = events
            .iter()
            .flat_map(|e| e.seller_ids.iter().copied())
            .collect();
        Ok(Contacts {
            customers: repo::catalog::customers_by_ids(db, &customer_ids)
                .await?
                .into_iter()
                .map(|c| (c.id, c))
                .collect(),
            sellers: repo::catalog::sellers_by_ids(db, &seller_ids)
                .await?
                .into_iter()
                .map(|s| (s.id, s))
                .collect(),
        })
    }

    /// The names a delivery's template uses: the customer's, and the seller's — the seller the
    /// delivery is addressed to, or the event's first seller.
    fn names(&self, e: &Event, d: &outbox_delivery::Model) -> Names {
        let addressed = (d.audience == "SELLER")
            .then(|| {
                e.seller_ids
                    .iter()
                    .filter_map(|s| self.sellers.get(s))
                    .find(|s| {
                        s.email.as_deref() == Some(d.target.as_str())
                            || s.phone.as_deref() == Some(d.target.as_str())
                    })
            })
            .flatten();
        Names {
            customer: self
                .customers
                .get(&e.customer_id)
                .map(|c| c.name.clone())
                .unwrap_or_default(),
            seller: addressed
                .or_else(|| e.seller_ids.first().and_then(|s| self.sellers.get(s)))
                .map(|s| s.name.clone()),
        }
    }
}

/// Whether an endpoint subscribed to an event type: exact names, `claim.*`-style prefixes,
/// or `*` for everything.
pub fn subscribed(event_types: &str, event_type: &str) -> bool {
    event_types.split(',').map(str::trim).any(|p| {
        p == "*"
            || p == event_type
            || p.strip_suffix('*')
                .is_some_and(|prefix| event_type.starts_with(prefix))
    })
}

fn destinations(
    app: &App,
    e: &Event,
    contacts: &Contacts,
    hooks: &[webhook_endpoint::Model],
) -> Vec<Destination> {
    let alimtalk = matches!(app.outbox.messenger, Messenger::Alimtalk(_));
    let mut out = Vec::new();
    for n in notifications_for_event(e) {
        let people: Vec<(Option<String>, Option<String>)> = match n.audience {
            Audience::Customer => contacts
                .customers
                .get(&e.customer_id)
                .map(|c| (Some(c.email.clone()), c.phone.clone()))
                .into_iter()
                .collect(),
            Audience::Seller => e
                .seller_ids
                .iter()
                .filter_map(|s| contacts.sellers.get(s))
                .map(|s| (s.email.clone(), s.phone.clone()))
                .collect(),
        };
        let audience = match n.audience {
            Audience::Customer => "CUSTOMER",
            Audience::Seller => "SELLER",
        };
        for (email, phone) in people {
            // 알림톡 when a gateway is configured and there is a mobile number; mail otherwise.
            let (destination, target) = match (alimtalk, phone, email) {
                (true, Some(phone), _) => ("ALIMTALK", phone),
                (_, _, Some(email)) if !email.is_empty() => ("EMAIL", email),
                _ => continue,
            };
            out.push(Destination {
                destination,
                audience,
                target,
                webhook_id: None,
                template: Some(n.template.to_owned()),
            });
        }
    }
    for h in hooks {
        if e.seller_ids.contains(&h.seller_id) && subscribed(&h.event_types, &e.event_type) {
            out.push(Destination {
                destination: "WEBHOOK",
                audience: "PARTNER",
                target: h.url.clone(),
                webhook_id: Some(h.id),
                template: None,
            });
        }
    }
    if app.outbox.nats.is_some() {
        out.push(Destination {
            destination: "NATS",
            audience: "STREAM",
            target: NatsStream::subject(e),
            webhook_id: None,
            template: None,
        });
    }
    out
}

async fn deliver_due(app: &App) -> Result<Report, ServiceError> {
    let now = app.clock.now();
    let lease =
        chrono::Duration::from_std(app.outbox.lease).unwrap_or(chrono::Duration::seconds(30));
    let txn = app.db.write().await?;
    let due = repo::outbox::lease_due(&*txn, BATCH, now, now + lease, &app.instance_id).await?;
    txn.commit().await?;
    if due.is_empty() {
        return Ok(Report::default());
    }
    let db = app.db.conn();
    let mut message_ids: Vec<i64> = due.iter().map(|d| d.message_id).collect();
    message_ids.sort_unstable();
    message_ids.dedup();
    let messages = repo::outbox::messages_by_ids(db, &message_ids).await?;
    let events: HashMap<i64, Event> = events(db, &messages)
        .await?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let contacts = Contacts::load(db, &events.values().cloned().collect::<Vec<_>>()).await?;
    let hooks: HashMap<i64, webhook_endpoint::Model> = repo::outbox::webhooks(db, None)
        .await?
        .into_iter()
        .filter(|h| due.iter().any(|d| d.webhook_id == Some(h.id)))
        .map(|h| (h.id, h))
        .collect();
    let attempts: Vec<(outbox_delivery::Model, AttemptOutcome)> = futures_util::stream::iter(due)
        .map(|d| {
            let event = events.get(&d.message_id);
            let names = event.map(|e| contacts.names(e, &d));
            let hook = d.webhook_id.and_then(|h| hooks.get(&h));
            async move {
                let outcome = match (event, names) {
                    (Some(e), Some(names)) => attempt(app, &d, e, &names, hook, now).await,
                    _ => Err(("the message is gone".to_owned(), None)),
                };
                (d, outcome)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut report = Report::default();
    let txn = app.db.write().await?;
    for (d, outcome) in attempts {
        let lag = (now - d.created_at).num_milliseconds().max(0) as f64 / 1000.0;
        let result = match outcome {
            Ok(status) => {
                report.delivered += 1;
                app.metrics
                    .outbox_delivery(&d.destination, "DELIVERED", lag);
                Attempt::Delivered { status }
            }
            Err((error, status)) => {
                let last = d.attempts + 1 >= MAX_ATTEMPTS;
                if last {
                    report.dead += 1;
                } else {
                    report.retried += 1;
                }
                app.metrics.outbox_delivery(
                    &d.destination,
                    if last { "DEAD" } else { "RETRY" },
                    lag,
                );
                tracing::warn!(delivery = d.id, destination = %d.destination, "delivery failed: {error}");
                Attempt::Failed {
                    error,
                    status,
                    retry_at: (!last).then(|| now + backoff(d.attempts)),
                }
            }
        };
        repo::outbox::finish(&*txn, d.id, result, app.clock.now()).await?;
    }
    txn.commit().await?;
    Ok(report)
}

/// The wait before attempt `attempts + 2`: 5 s, 10 s, 20 s, ... up to an hour.
pub fn backoff(attempts: i32) -> chrono::Duration {
    let secs = 5i64.saturating_mul(1i64 << attempts.clamp(0, 20));
    chrono::Duration::seconds(secs.min(3600))
}

/// Set (by a test harness only) to abort the process right after a successful delivery,
/// before it is recorded: the crash the outbox must survive.
fn abort_after_delivery() -> bool {
    static FLAG: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FLAG.get_or_init(|| std::env::var_os("OMS_FAULT_ABORT_AFTER_DELIVERY").is_some())
}

/// What an attempt came to: delivered (with the receiver's HTTP status for webhooks), or why
/// not (and the status, if the receiver answered).
type AttemptOutcome = Result<Option<i32>, (String, Option<i32>)>;

async fn attempt(
    app: &App,
    d: &outbox_delivery::Model,
    e: &Event,
    names: &Names,
    hook: Option<&webhook_endpoint::Model>,
    now: DateTime<Utc>,
) -> AttemptOutcome {
    let outcome = match d.destination.as_str() {
        "EMAIL" | "ALIMTALK" => {
            let audience = if d.audience == "SELLER" {
                Audience::Seller
            } else {
                Audience::Customer
            };
            let template = d.template.as_deref().unwrap_or_default();
            let rendered = render(template, audience, e, names).map_err(|m| (m, None))?;
            let sent = if d.destination == "EMAIL" {
                app.outbox.mailer.send(&d.target, &rendered).await
            } else {
                // 알림톡 texts are approved per template and audience.
                app.outbox
                    .messenger
                    .send(
                        &d.target,
                        &crate::notify::templates::template_name(template, audience),
                        &rendered,
                    )
                    .await
            };
            sent.map(|_| None).map_err(|m| (m, None))
        }
        "WEBHOOK" => match hook {
            Some(h) => post_webhook(app, h, e, now).await,
            None => Err(("the endpoint was deleted".to_owned(), None)),
        },
        "NATS" => match &app.outbox.nats {
            Some(nats) => nats
                .publish(&d.target, e)
                .await
                .map(|_| None)
                .map_err(|m| (m, None)),
            None => Err(("NATS is not configured on this server".to_owned(), None)),
        },
        other => Err((format!("unknown destination {other}"), None)),
    };
    if outcome.is_ok() && abort_after_delivery() {
        tracing::error!(
            delivery = d.id,
            "OMS_FAULT_ABORT_AFTER_DELIVERY: aborting before recording"
        );
        std::process::abort();
    }
    outcome
}

/// The body partners receive (Standard Webhooks): `{"type", "timestamp", "data"}`.
pub fn webhook_body(e: &Event) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "type": e.event_type,
        "timestamp": e.occurred_at.to_rfc3339(),
        "data": e,
    }))
    .unwrap_or_default()
}

async fn post_webhook(
    app: &App,
    h: &webhook_endpoint::Model,
    e: &Event,
    now: DateTime<Utc>,
) -> AttemptOutcome {
    let body = webhook_body(e);
    let timestamp = now.timestamp().to_string();
    let mut secrets = vec![h.secret.as_str()];
    if let (Some(old), Some(until)) = (&h.previous_secret, h.previous_secret_until) {
        if until > now {
            secrets.push(old.as_str());
        }
    }
    let signature = crate::webhook::signature_header(&secrets, &e.event_id, now.timestamp(), &body)
        .map_err(|err| (err.to_string(), None))?;
    let headers = [
        ("content-type", "application/json"),
        ("webhook-id", e.event_id.as_str()),
        ("webhook-timestamp", timestamp.as_str()),
        ("webhook-signature", signature.as_str()),
    ];
    match app.outbox.webhooks.post(&h.url, &headers, body).await {
        Ok(status) => Ok(Some(i32::from(status))),
        Err(failure) => Err((failure.to_string(), failure.status().map(i32::from))),
    }
}
