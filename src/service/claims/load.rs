//! Reading a stored claim: its facts for the transition table, the claim with its order,
//! units and refund parts; and the two writes every transition shares (the
//! timeline event, the order's status).

use chrono::{DateTime, Utc};
use entity::{claim, claim_event, claim_item, order, order_line, refund_part};
use sea_orm::{ConnectionTrait, Set};

use crate::domain::actor::Actor;
use crate::domain::claim::{
    role_code, ClaimAction, ClaimFacts, ClaimStatus, RefundFacts, RefundStatus, Settlement,
};
use crate::domain::order::{order_status, LineStatus, TenderMethod, UnknownName};
use crate::error::{ServiceError, UserError};
use crate::repo;
use crate::repo::stored::{StoredClaim, StoredLine, StoredRefundPart};
use crate::service::access::can_see_claim;

use super::*;

/// Everything a transition needs, loaded under the order lock.
pub(super) struct Loaded {
    pub(super) order: order::Model,
    pub(super) claim: claim::Model,
    pub(super) items: Vec<claim_item::Model>,
    pub(super) lines: Vec<order_line::Model>,
    pub(super) parts: Vec<refund_part::Model>,
}

impl Loaded {
    /// The claim with its units, order and lines.
    pub(super) fn in_order(&self) -> ClaimInOrder<'_> {
        ClaimInOrder {
            order: &self.order,
            claim: &self.claim,
            items: &self.items,
            lines: &self.lines,
        }
    }
}

pub(super) async fn load_claim_for(
    db: &impl ConnectionTrait,
    actor: Actor,
    number: &str,
) -> Result<Loaded, ServiceError> {
    let not_found = || UserError::not_found(&["claimNumber"], "claim");
    // Lock the order first, then read the claim: no other transaction moves it meanwhile.
    let (order, lines) = repo::orders::order_of_claim_with_lines(db, number)
        .await?
        .ok_or_else(not_found)?;
    let (c, items) = repo::claims::claim_with_items(db, number)
        .await?
        .ok_or_else(not_found)?;
    if !can_see_claim(actor, &c) {
        return Err(not_found().into());
    }
    // Refund parts exist once a claim is priced (refunding, awaiting its fee, closed) or a fee
    // was paid on it; before that there is nothing to read.
    let priced = c.status().map_or(true, |s| {
        s.is_refunding() || s.awaits_fee() || s.is_terminal()
    });
    let parts = if priced || c.fee_paid > 0 {
        repo::claims::parts_of_claims(db, &[c.id]).await?
    } else {
        Vec::new()
    };
    Ok(Loaded {
        order,
        claim: c,
        items,
        lines,
        parts,
    })
}

/// What the transition table asks about a stored claim: `decide` and `availableActions` read
/// the same facts. The settlement is the in-place one; a completing action prices its own.
pub fn facts_of(c: &claim::Model, parts: &[refund_part::Model]) -> Result<ClaimFacts, UnknownName> {
    Ok(ClaimFacts {
        status: c.status()?,
        hold: c.hold()?,
        carries_collection: c.carries_collection,
        rejected_from: c.rejected_from()?,
        refund: refund_facts(parts)?,
        settlement: Settlement::InPlace,
    })
}

/// What the table asks about a claim's refund parts (cash parts only; points never wait).
pub fn refund_facts(parts: &[refund_part::Model]) -> Result<RefundFacts, UnknownName> {
    let mut facts = RefundFacts::default();
    for part in parts {
        if part.method()? == TenderMethod::Points {
            continue;
        }
        match part.status()? {
            RefundStatus::Failed => facts.failed = true,
            RefundStatus::AccountRequired => facts.account_required = true,
            RefundStatus::Pending => facts.pending = true,
            RefundStatus::Succeeded => {}
        }
    }
    Ok(facts)
}

/// One entry of a claim's timeline: the version it made, who did what, from and to which
/// status, and the details notifications word the change from.
pub(super) struct ClaimEvent {
    pub(super) claim_id: i64,
    pub(super) version: i32,
    pub(super) actor: Actor,
    pub(super) action: ClaimAction,
    /// `None` for the event that opened the claim.
    pub(super) from: Option<ClaimStatus>,
    pub(super) to: ClaimStatus,
    pub(super) payload: serde_json::Value,
    pub(super) now: DateTime<Utc>,
}

/// Writes the timeline event and its outbox message, in the transition's transaction.
pub(super) async fn write_event(
    db: &impl ConnectionTrait,
    event: ClaimEvent,
) -> Result<(), ServiceError> {
    let ClaimEvent {
        claim_id,
        version,
        actor,
        action,
        from,
        to,
        payload,
        now,
    } = event;
    let actor_id = match actor {
        Actor::Customer(id) | Actor::Seller(id) => Some(id),
        Actor::Operator | Actor::Analyst | Actor::System => None,
    };
    repo::claims::insert_event(
        db,
        claim_event::ActiveModel {
            claim_id: Set(claim_id),
            version: Set(version),
            actor_role: Set(role_code(actor.role()).to_owned()),
            actor_id: Set(actor_id),
            action: Set(action.as_str().to_owned()),
            from_status: Set(from.map(|s| s.as_str().to_owned())),
            to_status: Set(to.as_str().to_owned()),
            payload: Set(payload.to_string()),
            created_at: Set(now),
            ..Default::default()
        },
    )
    .await?;
    // The outbox message commits (or rolls back) with the transition.
    crate::outbox::record_claim(
        db,
        &crate::outbox::ClaimTransition {
            claim_id,
            version,
            action,
            actor: role_code(actor.role()),
            from,
            to,
            details: &payload,
        },
        now,
    )
    .await?;
    Ok(())
}

/// Sets the order's status from its lines' statuses: `lines` as this transaction read them,
/// with the statuses it has changed since (`changes`, by line id) applied.
pub(super) async fn set_order_status(
    db: &impl ConnectionTrait,
    order_id: i64,
    lines: &[order_line::Model],
    changes: &[(i64, LineStatus)],
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let statuses = lines
        .iter()
        .map(|l| match changes.iter().rev().find(|(id, _)| *id == l.id) {
            Some((_, s)) => Ok(*s),
            None => l.status(),
        })
        .collect::<Result<Vec<_>, _>>()?;
    repo::orders::update_order(
        db,
        order_id,
        order::ActiveModel {
            status: Set(order_status(statuses).as_str().to_owned()),
            ..Default::default()
        },
        now,
    )
    .await?;
    Ok(())
}
