//! Reading a stored claim: its hold, its facts for the transition table, the claim with
//! its order, units and refund parts; and the two writes every transition shares (the
//! timeline event, the order's status).

use chrono::{DateTime, Utc};
use entity::{claim, claim_event, claim_item, order, order_line, refund_part};
use sea_orm::{ConnectionTrait, Set};

use crate::domain::actor::{Actor, Role};
use crate::domain::claim::{
    role_code, ClaimAction, ClaimFacts, ClaimStatus, HoldReason, HoldState, RefundFacts,
    Settlement, ROLES,
};
use crate::domain::order::{order_status, LineStatus};
use crate::error::{ServiceError, UserError};
use crate::repo;

use super::*;

/// The claim's hold as stored (also read by the GraphQL layer for `availableActions`).
pub fn stored_hold(c: &claim::Model) -> Result<HoldState, ServiceError> {
    let reason = || -> Result<HoldReason, ServiceError> {
        parse(
            c.hold_reason.as_deref().unwrap_or("OTHER"),
            "hold reason",
            HoldReason::parse,
        )
    };
    let by = || -> Result<Role, ServiceError> {
        parse(
            c.hold_by.as_deref().unwrap_or("SYSTEM"),
            "role",
            role_from_code,
        )
    };
    Ok(match c.hold_phase.as_str() {
        "HELD" => HoldState::Held {
            reason: reason()?,
            by: by()?,
        },
        "HOLD_PENDING" => HoldState::Pending {
            reason: reason()?,
            by: by()?,
        },
        "NONE" => HoldState::None,
        other => {
            return Err(ServiceError::Corrupt(format!(
                "unknown hold phase `{other}`"
            )))
        }
    })
}

/// The role stored under its code (`role_code`'s inverse).
pub fn role_from_code(code: &str) -> Option<Role> {
    ROLES.into_iter().find(|r| role_code(*r) == code)
}

pub(super) fn set_hold(set: &mut claim::ActiveModel, hold: HoldState, memo: Option<String>) {
    set.hold_phase = Set(hold.phase_str().to_owned());
    set.hold_reason = Set(hold.reason().map(|r| r.as_str().to_owned()));
    set.hold_by = Set(hold.placed_by().map(|r| role_code(r).to_owned()));
    if hold.is_some() {
        if memo.is_some() {
            set.hold_memo = Set(memo);
        }
    } else {
        set.hold_memo = Set(None);
    }
}

/// Everything a transition needs, loaded under the order lock.
pub(super) struct Loaded {
    pub(super) order: order::Model,
    pub(super) claim: claim::Model,
    pub(super) items: Vec<claim_item::Model>,
    pub(super) lines: Vec<order_line::Model>,
    pub(super) parts: Vec<refund_part::Model>,
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
    let visible = match actor {
        Actor::Customer(id) => c.customer_id == id,
        Actor::Seller(id) => c.seller_id == id,
        Actor::Operator | Actor::Analyst | Actor::System => true,
    };
    if !visible {
        return Err(not_found().into());
    }
    // Refund parts exist once a claim is priced (refunding, awaiting its fee, closed) or a fee
    // was paid on it; before that there is nothing to read.
    let priced = ClaimStatus::parse(&c.status)
        .is_none_or(|s| s.is_refunding() || s.awaits_fee() || s.is_terminal());
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
pub fn facts_of(
    c: &claim::Model,
    parts: &[refund_part::Model],
) -> Result<ClaimFacts, ServiceError> {
    Ok(ClaimFacts {
        status: parse(&c.status, "claim status", ClaimStatus::parse)?,
        hold: stored_hold(c)?,
        carries_collection: c.carries_collection,
        rejected_from: c.rejected_from.as_deref().and_then(ClaimStatus::parse),
        refund: refund_facts(parts),
        settlement: Settlement::InPlace,
    })
}

/// What the table asks about a claim's refund parts (cash parts only; points never wait).
pub fn refund_facts(parts: &[refund_part::Model]) -> RefundFacts {
    let has = |s: &str| parts.iter().any(|p| p.method != "POINTS" && p.status == s);
    RefundFacts {
        failed: has("FAILED"),
        account_required: has("ACCOUNT_REQUIRED"),
        pending: has("PENDING"),
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn write_event(
    db: &impl ConnectionTrait,
    claim_id: i64,
    version: i32,
    actor: Actor,
    action: ClaimAction,
    from: Option<ClaimStatus>,
    to: ClaimStatus,
    payload: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
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
            None => l.status.parse::<LineStatus>(),
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
