//! The courier: pickups are booked by the built-in simulated courier when a return or exchange
//! is approved (`Effect::BookPickup`), and the courier's tracking events, received at an
//! authenticated endpoint, drive the SYSTEM rows — a pickup marks the goods collected, a
//! delivery of a replacement completes the exchange, a delivery of an order's parcel marks its
//! lines delivered. Each event applies once, whatever how often the courier sends it.

use std::collections::HashMap;

use crate::app::App;
use crate::domain::actor::Actor;
use crate::domain::claim::{ClaimAction, ClaimStatus};
use crate::domain::order::LineStep;
use crate::domain::text as limit;
use crate::error::{ServiceError, UserError};
use crate::repo;
use crate::service::claims::{self, ActRequest};
use crate::service::idempotency::{IdempotencyKey, Keyed};
use crate::service::orders::{self, LineSelection, StepRequest};

/// What the courier reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackingEventKind {
    /// 집화: the courier picked the parcel up (for a claim: the goods are collected).
    PickedUp,
    /// 배달 완료: the parcel was delivered.
    Delivered,
}

impl TrackingEventKind {
    /// Stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            TrackingEventKind::PickedUp => "PICKED_UP",
            TrackingEventKind::Delivered => "DELIVERED",
        }
    }
}

/// One tracking event.
#[derive(Debug, Clone)]
pub struct TrackingEvent {
    /// The courier's unique id for the event.
    pub event_id: String,
    /// The courier's name.
    pub courier: String,
    /// 운송장 번호.
    pub tracking_number: String,
    /// What happened.
    pub kind: TrackingEventKind,
}

/// What an event changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackingOutcome {
    /// True when the event was applied before: nothing changed now.
    pub duplicate: bool,
    /// Claims moved, by number, with their new status.
    pub claims: Vec<(String, String)>,
    /// Order lines marked delivered.
    pub lines_delivered: usize,
}

/// Checks the text of a tracking event as the courier sent it (`domain::text`) before anything
/// is looked up: a value too long, or with a control character, is refused naming the body
/// field. (A refusal must not be a 5xx: that tells the courier to send the event again.)
pub fn check_text(
    event_id: &str,
    courier: &str,
    tracking_number: &str,
    event: &str,
) -> Result<(), UserError> {
    [
        ("eventId", event_id, limit::COURIER_EVENT_ID),
        ("courier", courier, limit::COURIER),
        ("trackingNumber", tracking_number, limit::TRACKING_NUMBER),
        ("event", event, limit::COURIER_EVENT),
    ]
    .into_iter()
    .try_for_each(|(name, value, limit)| {
        limit.check(value).map_err(|e| UserError::text(&[name], e))
    })
}

/// Applies a tracking event once.
pub async fn apply(app: &App, ev: TrackingEvent) -> Result<TrackingOutcome, ServiceError> {
    let mut outcome = TrackingOutcome::default();
    // An order parcel delivered: the lines' own step, idempotent by the event id.
    if ev.kind == TrackingEventKind::Delivered {
        let lines =
            repo::claims::shipped_lines_by_tracking(app.db.conn(), &ev.tracking_number).await?;
        let mut by_order: HashMap<i64, Vec<i64>> = HashMap::new();
        for l in &lines {
            by_order.entry(l.order_id).or_default().push(l.id);
        }
        for (order_id, ids) in by_order {
            let key = Keyed::new(
                IdempotencyKey::derived(&format!("courier-{order_id}"), &ev.event_id),
                LineStep::MarkDelivered.mutation_name(),
                &serde_json::json!({ "lineIds": ids }),
            );
            let request = StepRequest {
                selection: LineSelection::Lines(ids.clone()),
                tracking: None,
                expected_version: None,
            };
            match orders::step_lines(
                app,
                Actor::System,
                LineStep::MarkDelivered,
                Some(key),
                request,
            )
            .await
            .result
            {
                Ok(_) => outcome.lines_delivered += ids.len(),
                Err(ServiceError::User(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    // Claims: the event row and the transitions in one transaction.
    let now = app.clock.now();
    let txn = app.db.write().await?;
    if !repo::claims::record_courier_event(
        &*txn,
        &ev.event_id,
        &ev.tracking_number,
        ev.kind.as_str(),
        now,
    )
    .await?
    {
        return Ok(TrackingOutcome {
            duplicate: true,
            ..outcome
        });
    }
    let (reshipment, action, from) = match ev.kind {
        TrackingEventKind::PickedUp => (
            false,
            ClaimAction::MarkCollected,
            [
                ClaimStatus::ReturnCollecting,
                ClaimStatus::ExchangeCollecting,
            ],
        ),
        TrackingEventKind::Delivered => (
            true,
            ClaimAction::CompleteExchange,
            [
                ClaimStatus::ExchangeReshipping,
                ClaimStatus::ExchangeReshipping,
            ],
        ),
    };
    for c in repo::claims::claims_by_tracking(&*txn, &ev.tracking_number, reshipment).await? {
        if !from.iter().any(|s| s.as_str() == c.status) {
            continue;
        }
        let request = ActRequest {
            claim_number: c.claim_number.clone(),
            tracking: Some((ev.courier.clone(), ev.tracking_number.clone())),
            memo: Some(format!("courier event {}", ev.event_id)),
            ..Default::default()
        };
        let changed = claims::act_in(app, &*txn, Actor::System, action, &request, now).await?;
        let status = repo::claims::claims_by_ids(&*txn, &[changed.claim_id])
            .await?
            .into_iter()
            .next()
            .map(|c| c.status)
            .unwrap_or_default();
        outcome.claims.push((c.claim_number, status));
    }
    txn.commit().await?;
    Ok(outcome)
}
