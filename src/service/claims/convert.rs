//! Converting a return into an exchange and back: the claim closes and its units open again
//! under the other type.

use chrono::{DateTime, Utc};
use entity::{claim, claim_item, order, order_line};
use sea_orm::{ConnectionTrait, Set};
use serde_json::json;

use crate::app::App;
use crate::domain::actor::Actor;
use crate::domain::claim::{role_code, ClaimAction, ClaimType, Effect, Reason};
use crate::error::ServiceError;
use crate::repo;
use crate::service::policy::{self, PickedLine, PolicyRequest};

use super::*;

#[allow(clippy::too_many_arguments)]
pub(super) async fn open_converted(
    app: &App,
    db: &impl ConnectionTrait,
    actor: Actor,
    order: &order::Model,
    c: &claim::Model,
    items: &[claim_item::Model],
    lines: &[order_line::Model],
    target: &crate::domain::claim::ConvertedClaim,
    req: &ActRequest,
    now: DateTime<Utc>,
) -> Result<i64, ServiceError> {
    let new_type = target.status.claim_type();
    let reason = parse(&c.reason, "reason", Reason::parse)?;
    let existing = repo::claims::claims_of_orders(db, &[c.order_id], None)
        .await?
        .len();
    let mut new_items = Vec::with_capacity(items.len());
    for item in items {
        let replacement = if new_type == ClaimType::Exchange {
            Some(
                req.replacements
                    .iter()
                    .find(|(l, _)| *l == item.line_id)
                    .map(|(_, o)| *o)
                    .ok_or_else(|| {
                        ServiceError::BadInput(
                            "converting into an exchange names a replacement option for every line"
                                .into(),
                        )
                    })?,
            )
        } else {
            None
        };
        new_items.push((item.line_id, item.quantity, replacement));
    }
    if new_type == ClaimType::Exchange {
        let open_items: Vec<OpenItem> = new_items
            .iter()
            .map(|(l, q, r)| OpenItem {
                line_id: *l,
                quantity: i64::from(*q),
                replacement_option_id: *r,
            })
            .collect();
        let chosen: Vec<(&order_line::Model, &OpenItem)> = open_items
            .iter()
            .filter_map(|i| lines.iter().find(|l| l.id == i.line_id).map(|l| (l, i)))
            .collect();
        reserve_replacements(db, &chosen).await?;
    }
    // Fees and fault afresh for the new claim; the window was the original's.
    let picked: Vec<PickedLine<'_>> = new_items
        .iter()
        .filter_map(|(line_id, quantity, replacement)| {
            let line = lines.iter().find(|l| l.id == *line_id)?;
            Some(PickedLine {
                line,
                quantity: u32::try_from(*quantity).unwrap_or(0),
                replacement_option_id: *replacement,
            })
        })
        .collect();
    let method = if c.collection_method == CollectionMethod::Pickup.as_str() {
        CollectionMethod::Pickup
    } else {
        CollectionMethod::CustomerShips
    };
    let fees = policy::decide(
        app,
        db,
        PolicyRequest {
            order,
            seller_id: c.seller_id,
            claim_type: new_type,
            reason,
            memo: c.memo.as_deref(),
            method,
            picked: &picked,
            lines,
            now,
            check_window: false,
        },
    )
    .await?;
    let fault = fees.fault();
    let exchange_fee = fees.decision.exchange_fee;
    let hold = crate::domain::claim::opening_hold(target.effects, exchange_fee > 0);
    let decision = fees.recorded.clone();
    let mut row = claim::ActiveModel {
        claim_number: Set(format!(
            "{}-C{}",
            c.claim_number
                .rsplit_once("-C")
                .map_or(c.claim_number.as_str(), |(o, _)| o),
            existing + 1
        )),
        order_id: Set(c.order_id),
        seller_id: Set(c.seller_id),
        customer_id: Set(c.customer_id),
        claim_type: Set(new_type.as_str().to_owned()),
        status: Set(target.status.as_str().to_owned()),
        reason: Set(c.reason.clone()),
        memo: Set(c.memo.clone()),
        fault: Set(fault.as_str().to_owned()),
        carries_collection: Set(target.carries_collection),
        rejected_from: Set(None),
        rejection_code: Set(None),
        collection_method: Set(c.collection_method.clone()),
        collection_courier: Set(if target.carries_collection {
            c.collection_courier.clone()
        } else {
            None
        }),
        collection_tracking: Set(if target.carries_collection {
            c.collection_tracking.clone()
        } else {
            None
        }),
        reship_courier: Set(None),
        reship_tracking: Set(None),
        redelivery_courier: Set(None),
        redelivery_tracking: Set(None),
        converted_from_id: Set(Some(c.id)),
        converted_to_id: Set(None),
        policy_decision: Set(decision.to_string()),
        return_fee: Set(fees.decision.return_fee),
        initial_shipping_applies: Set(fees.decision.initial_shipping),
        coupon_clawback_applies: Set(fees.decision.coupon_clawback),
        exchange_fee: Set(exchange_fee),
        fee_paid: Set(0),
        fee_credit: Set(if target.effects.contains(&Effect::CreditPaidFee) {
            c.fee_paid
        } else {
            0
        }),
        restock: Set(None),
        requested_by: Set(role_code(actor.role()).to_owned()),
        requested_at: Set(now),
        updated_at: Set(now),
        closed_at: Set(None),
        version: Set(1),
        ..Default::default()
    };
    set_hold(&mut row, hold, None);
    let new_id = repo::claims::insert_claim(db, row).await?;
    fees.record(app, db, new_id, now).await?;
    repo::claims::insert_items(
        db,
        new_items
            .iter()
            .map(|(l, q, r)| claim_item::ActiveModel {
                claim_id: Set(new_id),
                line_id: Set(*l),
                quantity: Set(*q),
                replacement_option_id: Set(*r),
                ..Default::default()
            })
            .collect(),
    )
    .await?;
    let action = if new_type == ClaimType::Exchange {
        ClaimAction::ConvertToExchange
    } else {
        ClaimAction::ConvertToReturn
    };
    write_event(
        db,
        new_id,
        1,
        actor,
        action,
        None,
        target.status,
        json!({"convertedFrom": c.claim_number, "policyDecision": decision}),
        now,
    )
    .await?;
    Ok(new_id)
}
