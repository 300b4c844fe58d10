//! A committed event as the dispatcher, the notification channels, partner webhooks, the event
//! stream and subscriptions see it.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// A committed outbox message: one order or claim transition.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// The outbox row.
    #[serde(skip)]
    pub id: i64,
    /// Stable id for de-duplication (`evt_42`): the `webhook-id` header and the NATS
    /// `Nats-Msg-Id`; a redelivery carries the same id.
    pub event_id: String,
    /// `order.placed`, `order.shipped`, ..., or `claim.` + the claim's new status in lower case
    /// (`claim.exchange_collected`).
    pub event_type: String,
    /// When the transition committed.
    pub occurred_at: DateTime<Utc>,
    /// The order (주문번호).
    pub order_number: String,
    /// The claim, for claim events.
    pub claim_number: Option<String>,
    /// `CANCEL`, `RETURN` or `EXCHANGE`, for claim events.
    pub claim_type: Option<String>,
    /// The claim's status after the transition (`EXCHANGE_COLLECTED`), for claim events.
    pub status: Option<String>,
    /// The sellers whose lines the event concerns.
    pub seller_ids: Vec<i64>,
    /// The customer.
    pub customer_id: i64,
    /// Event details (the timeline event's action, actor and payload for claims; the lines
    /// for order steps).
    pub data: serde_json::Value,
}

/// Who a notification is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Audience {
    /// The customer who ordered.
    Customer,
    /// The seller whose lines it concerns.
    Seller,
}

/// How a notification travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Channel {
    /// Mail over SMTP.
    Email,
    /// 카카오 알림톡 through an HTTP gateway.
    Alimtalk,
}
