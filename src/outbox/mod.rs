//! The transactional outbox (issue 7): every order and claim transition writes one message in
//! its own transaction, so a change that rolls back sends nothing and a change that commits is
//! never lost. The dispatcher ([`dispatch`]) expands messages into deliveries — notifications
//! to the customer and the seller, the seller's partner webhooks, the NATS event stream — and
//! delivers them at least once, each with the message's stable id for de-duplication.
//! Subscriptions (`claimEvents`) read the same messages through one feed per server ([`live`]),
//! so every replica sees every event.

pub mod dispatch;
mod event;
pub mod live;
pub mod stream;
pub mod target;
pub mod webhook_client;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::outbox_message;
use sea_orm::{ConnectionTrait, DbErr, Set};
use serde_json::json;

pub use event::{Audience, Channel, Event};

use crate::domain::claim::{ClaimAction, ClaimStatus};
use crate::repo;

/// The event types of order steps.
pub const ORDER_EVENT_TYPES: [&str; 7] = [
    "order.placed",
    "order.paid",
    "order.deposit_confirmed",
    "order.preparing",
    "order.shipped",
    "order.delivered",
    "order.purchase_confirmed",
];

/// Every event type: the order steps, then `claim.` + each claim status.
pub fn event_types() -> Vec<String> {
    ORDER_EVENT_TYPES
        .iter()
        .map(|t| (*t).to_owned())
        .chain(ClaimStatus::ALL.iter().map(|s| claim_event_type(*s)))
        .collect()
}

/// True for an event type the outbox writes.
pub fn is_event_type(t: &str) -> bool {
    ORDER_EVENT_TYPES.contains(&t)
        || t.strip_prefix("claim.")
            .is_some_and(|s| ClaimStatus::parse(&s.to_ascii_uppercase()).is_some())
}

/// The event type of a claim's new status: `claim.exchange_collected`.
pub fn claim_event_type(status: ClaimStatus) -> String {
    format!("claim.{}", status.as_str().to_ascii_lowercase())
}

/// A claim transition, as its message records it.
pub struct ClaimTransition<'a> {
    /// The claim.
    pub claim_id: i64,
    /// Its version after the transition.
    pub version: i32,
    /// The action taken.
    pub action: ClaimAction,
    /// Who took it (`CUSTOMER`, `SELLER`, `OPERATOR`, `SYSTEM`).
    pub actor: &'a str,
    /// The status before (none when the claim was opened).
    pub from: Option<ClaimStatus>,
    /// The status after.
    pub to: ClaimStatus,
    /// The timeline event's payload; its `hold`, `holdReason`, `reason` and `memo` go into
    /// the message for notifications to word the change, its `faultChange` and `feeChange`
    /// for subscribers to see why the fault or fees moved.
    pub details: &'a serde_json::Value,
}

/// Writes a claim transition's message (in the transition's transaction).
pub async fn record_claim(
    db: &impl ConnectionTrait,
    t: &ClaimTransition<'_>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut payload = json!({
        "action": t.action.as_str(),
        "actor": t.actor,
        "version": t.version,
        "fromStatus": t.from.map(ClaimStatus::as_str),
        "status": t.to.as_str(),
    });
    for key in [
        "hold",
        "holdReason",
        "reason",
        "memo",
        "faultChange",
        "feeChange",
    ] {
        if let Some(v) = t.details.get(key).filter(|v| !v.is_null()) {
            payload[key] = v.clone();
        }
    }
    repo::outbox::insert_claim_message(
        db,
        t.claim_id,
        &claim_event_type(t.to),
        &payload.to_string(),
        now,
    )
    .await
}

/// An order as its step's message names it.
pub struct OrderRef<'a> {
    /// The order.
    pub id: i64,
    /// Its customer.
    pub customer_id: i64,
    /// Its status after the step.
    pub status: &'a str,
}

/// Writes an order step's message (in the step's transaction): `event_type` is `order.placed`,
/// `order.shipped`, ...; `lines` the line ids it moved and `seller_ids` their sellers.
pub async fn record_order(
    db: &impl ConnectionTrait,
    order: OrderRef<'_>,
    event_type: &str,
    lines: &[i64],
    seller_ids: &[i64],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut sellers = seller_ids.to_vec();
    sellers.sort_unstable();
    sellers.dedup();
    let payload = json!({"lineIds": lines, "sellerIds": sellers, "orderStatus": order.status});
    repo::outbox::insert_order_message(
        db,
        outbox_message::ActiveModel {
            event_type: Set(event_type.to_owned()),
            order_id: Set(order.id),
            claim_id: Set(None),
            seller_id: Set((sellers.len() == 1).then(|| sellers[0])),
            customer_id: Set(order.customer_id),
            payload: Set(payload.to_string()),
            created_at: Set(now),
            dispatched_at: Set(None),
            ..Default::default()
        },
    )
    .await
}

/// The stable id of a message: `evt_42`.
pub fn event_id(message_id: i64) -> String {
    format!("evt_{message_id}")
}

/// Messages as events, with their order and claim numbers (two statements).
pub async fn events(
    db: &impl ConnectionTrait,
    messages: &[outbox_message::Model],
) -> Result<Vec<Event>, DbErr> {
    let order_ids: Vec<i64> = messages.iter().map(|m| m.order_id).collect();
    let claim_ids: Vec<i64> = messages.iter().filter_map(|m| m.claim_id).collect();
    let orders: HashMap<i64, String> = repo::orders::orders_by_ids(db, &order_ids)
        .await?
        .into_iter()
        .map(|o| (o.id, o.order_number))
        .collect();
    let claims: HashMap<i64, entity::claim::Model> = if claim_ids.is_empty() {
        HashMap::new()
    } else {
        repo::claims::claims_by_ids(db, &claim_ids)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect()
    };
    Ok(messages
        .iter()
        .map(|m| {
            let data: serde_json::Value =
                serde_json::from_str(&m.payload).unwrap_or(serde_json::Value::Null);
            let claim = m.claim_id.and_then(|c| claims.get(&c));
            let seller_ids = match m.seller_id {
                Some(s) => vec![s],
                None => data["sellerIds"]
                    .as_array()
                    .map(|a| a.iter().filter_map(serde_json::Value::as_i64).collect())
                    .unwrap_or_default(),
            };
            Event {
                id: m.id,
                event_id: event_id(m.id),
                event_type: m.event_type.clone(),
                occurred_at: m.created_at,
                order_number: orders.get(&m.order_id).cloned().unwrap_or_default(),
                claim_number: claim.map(|c| c.claim_number.clone()),
                claim_type: claim.map(|c| c.claim_type.clone()),
                status: data["status"].as_str().map(str::to_owned),
                seller_ids,
                customer_id: m.customer_id,
                data,
            }
        })
        .collect())
}
