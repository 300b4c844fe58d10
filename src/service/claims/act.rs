//! Acting on a claim: one transition of the table, its effects, and the refund it prices.

use chrono::{DateTime, Utc};
use entity::{claim, refund_part};
use sea_orm::{ConnectionTrait, Set};
use serde_json::json;

use crate::app::App;
use crate::courier::PickupRequest;
use crate::domain::actor::Actor;
use crate::domain::claim::{
    decide, ClaimAction, ClaimStatus, ClaimType, Effect, Fault, Reason, Settlement,
};
use crate::domain::money::Won;
use crate::domain::refund::{price_refund, waive_fee, ClaimKind};
use crate::error::{ServiceError, UserError, UserErrorCode};
use crate::repo;
use crate::service::idempotency::{self, Answer, Keyed};

use super::*;

/// Takes `action` on a claim, as the transition table decides.
pub async fn act(
    app: &App,
    actor: Actor,
    action: ClaimAction,
    key: Option<Keyed>,
    req: ActRequest,
) -> Answer<ClaimChanged> {
    idempotency::once(app, actor, key, async |txn| {
        act_in(app, txn, actor, action, &req, app.clock.now()).await
    })
    .await
}

/// [`act`] inside a transaction the caller owns (shipping over a cancel request).
pub(crate) async fn act_in(
    app: &App,
    db: &impl ConnectionTrait,
    actor: Actor,
    action: ClaimAction,
    req: &ActRequest,
    now: DateTime<Utc>,
) -> Result<ClaimChanged, ServiceError> {
    let role = actor.role();
    let Loaded {
        order,
        claim: c,
        items,
        lines,
        parts,
    } = load_claim_for(db, actor, &req.claim_number).await?;
    if let Some(v) = req.expected_version {
        if v != c.version {
            return Err(UserError::new(
                UserErrorCode::StaleVersion,
                &["expectedVersion"],
                format!(
                    "claim {} is at version {}, not {v}; reload it and try again",
                    c.claim_number, c.version
                ),
            )
            .into());
        }
    }
    let status = parse(&c.status, "claim status", ClaimStatus::parse)?;
    let claim_type = status.claim_type();
    let reason = parse(&c.reason, "reason", Reason::parse)?;
    let mut fault = parse(&c.fault, "fault", |f| {
        Fault::ALL.into_iter().find(|x| x.as_str() == f)
    })?;
    let hold = stored_hold(&c)?;
    if action == ClaimAction::HoldClaim && req.hold_reason.is_some_and(|r| r.is_fee_hold()) {
        return Err(ServiceError::BadInput(
            "RETURN_FEE_UNPAID holds are placed by the SYSTEM only".into(),
        ));
    }
    if action == ClaimAction::Approve && req.out_of_stock {
        fault = Fault::Seller;
    }
    // Completing actions price the refund first: how it settles picks the next status.
    let kind = match (claim_type, action) {
        (ClaimType::Cancel, _) => Some(ClaimKind::Cancel { fault }),
        (ClaimType::Return, ClaimAction::CompleteReturn) => Some(ClaimKind::Return {
            fees: fee_decision(&c, fault),
        }),
        (ClaimType::Exchange, ClaimAction::RefundExchange) => Some(ClaimKind::ExchangeRefund),
        _ => None,
    };
    let closing = matches!(
        (claim_type, action),
        (ClaimType::Cancel, ClaimAction::Approve)
            | (ClaimType::Return, ClaimAction::CompleteReturn)
            | (ClaimType::Exchange, ClaimAction::RefundExchange)
    );
    let mut facts = facts_of(&c, &parts)?;
    let priced = match kind.filter(|_| closing) {
        Some(kind) => {
            // Refuse what the table refuses before pricing: a claim another request has
            // just closed has no units left to price.
            decide(&facts, action, role).map_err(refusal)?;
            let ledger = load_ledger(db, &order, &lines).await?;
            let mut input = to_price(&c, &items, kind);
            if action == ClaimAction::RefundExchange {
                input.credit = Won::new(c.fee_paid);
            }
            let mut p =
                price_refund(&ledger, &input).map_err(|e| ServiceError::Corrupt(e.to_string()))?;
            p.effect = ledger.changes_of(p.effect);
            Some(p)
        }
        None => None,
    };
    facts.settlement = priced.as_ref().map_or(Settlement::InPlace, settlement_of);
    let transition = decide(&facts, action, role).map_err(refusal)?;
    let new_hold = transition.hold_after(hold, req.hold_reason, role);

    let mut set = claim::ActiveModel {
        status: Set(transition.to.as_str().to_owned()),
        updated_at: Set(now),
        ..Default::default()
    };
    set.fault = Set(fault.as_str().to_owned());
    set_hold(&mut set, new_hold, req.memo.clone());
    if transition.to.is_reject_pending() {
        set.rejected_from = Set(Some(status.as_str().to_owned()));
    }
    if transition.to.is_terminal() {
        set.closed_at = Set(Some(now));
    }
    let mut payload = json!({});
    if let Some(m) = &req.memo {
        payload["memo"] = json!(m);
    }
    let mut result_claim = c.id;
    let mut line_changes = Vec::new();
    let tracking = |what: &str| {
        req.tracking.clone().ok_or_else(|| {
            ServiceError::BadInput(format!(
                "{} needs a courier and a tracking number ({what})",
                action.mutation_name()
            ))
        })
    };
    for effect in transition.effects {
        match effect {
            Effect::Refund => {
                if let Some(p) = &priced {
                    line_changes =
                        persist_refund(db, &order, &c, &items, &lines, p, true, now).await?;
                    payload["refund"] =
                        json!({"cash": p.cash, "points": p.points, "feeDue": p.fee_due});
                }
            }
            Effect::Restock => restock(db, &items, &lines).await?,
            Effect::RestockUnlessOutOfStock => {
                if !req.out_of_stock {
                    restock(db, &items, &lines).await?;
                }
            }
            Effect::RestockUnlessDefective => {
                let back = req.restock.unwrap_or(reason != Reason::Defective);
                set.restock = Set(Some(back));
                if back {
                    restock(db, &items, &lines).await?;
                }
            }
            Effect::BookPickup => {
                if c.collection_method == CollectionMethod::Pickup.as_str() {
                    // Keyed by claim and version: a retried approval books once.
                    let booking = app
                        .courier
                        .book_pickup(PickupRequest {
                            idempotency_key: format!("{}-v{}", c.claim_number, c.version),
                            claim_number: c.claim_number.clone(),
                            order_number: order.order_number.clone(),
                        })
                        .await
                        .map_err(|e| {
                            UserError::general(
                                UserErrorCode::CourierUnavailable,
                                format!("{e}; try again, or let the customer ship the goods"),
                            )
                        })?;
                    set.collection_courier = Set(Some(booking.courier));
                    set.collection_tracking = Set(Some(booking.tracking_number));
                    payload["pickup"] = json!("booked");
                } else {
                    payload["pickup"] = json!("customer ships to the seller's return address");
                }
            }
            Effect::CancelPickup => {
                set.collection_courier = Set(None);
                set.collection_tracking = Set(None);
            }
            Effect::RecordCollection => {
                let (courier, number) = tracking("the collection")?;
                set.collection_courier = Set(Some(courier));
                set.collection_tracking = Set(Some(number));
            }
            Effect::ReDeliver => {
                if let Some((courier, number)) = req.tracking.clone() {
                    set.redelivery_courier = Set(Some(courier));
                    set.redelivery_tracking = Set(Some(number));
                }
            }
            Effect::ReleaseReservation => release_replacements(db, &items).await?,
            Effect::ConsumeReplacement => {
                let (courier, number) = tracking("the replacement")?;
                set.reship_courier = Set(Some(courier));
                set.reship_tracking = Set(Some(number));
            }
            Effect::ShipAnotherReplacement => {
                let (courier, number) = tracking("the new replacement")?;
                for item in &items {
                    if let Some(option) = item.replacement_option_id {
                        if !repo::catalog::take_stock(db, option, i64::from(item.quantity)).await? {
                            return Err(UserError::general(UserErrorCode::OutOfStock, format!("option {option} has no stock for another replacement; use refundExchange")).into());
                        }
                    }
                }
                set.reship_courier = Set(Some(courier));
                set.reship_tracking = Set(Some(number));
            }
            Effect::WriteOffShippedReplacement => payload["writtenOff"] = json!(true),
            Effect::RecordRejection(code) => {
                set.rejection_code = Set(Some(code.as_str().to_owned()))
            }
            Effect::WaiveFee => {
                if status == ClaimStatus::ReturnAwaitingFee {
                    waive_return_fee(db, &c).await?;
                } else {
                    set.exchange_fee = Set(c.fee_paid);
                }
                payload["waived"] = json!(true);
            }
            Effect::RefundPaidFee => {
                if c.fee_paid > 0 {
                    refund_paid_fee(db, &order, &c, now).await?;
                    payload["feeRefunded"] = json!(c.fee_paid);
                }
            }
            // The new claim of a conversion takes the credit (`open_converted`).
            Effect::CreditPaidFee => {}
            Effect::RecordFeePayment => {
                let paid =
                    record_fee_payment(app, db, &order, &lines, &c, status, req.fee, now).await?;
                set.fee_paid = Set(c.fee_paid + paid.amount());
                payload["feePaid"] = json!(paid);
            }
            Effect::OpenConverted(target) => {
                let new_id =
                    open_converted(app, db, actor, &order, &c, &items, &lines, target, req, now)
                        .await?;
                set.converted_to_id = Set(Some(new_id));
                payload["convertedTo"] = json!(new_id);
                result_claim = new_id;
            }
            Effect::RetryFailedParts => {
                repo::claims::update_parts_in_status(
                    db,
                    c.id,
                    "FAILED",
                    refund_part::ActiveModel {
                        status: Set("PENDING".into()),
                        attempts: Set(0),
                        next_attempt_at: Set(Some(now)),
                        updated_at: Set(now),
                        ..Default::default()
                    },
                )
                .await?;
            }
            Effect::MarkFailedPartsManual => {
                let reference = req.reference.clone().ok_or_else(|| {
                    ServiceError::BadInput(
                        "resolveRefundManually needs the outside payment's reference".into(),
                    )
                })?;
                repo::claims::update_parts_in_status(
                    db,
                    c.id,
                    "FAILED",
                    refund_part::ActiveModel {
                        status: Set("SUCCEEDED".into()),
                        manual: Set(true),
                        gateway_reference: Set(Some(reference)),
                        memo: Set(req.memo.clone()),
                        updated_at: Set(now),
                        ..Default::default()
                    },
                )
                .await?;
            }
            Effect::RetryAccountRequiredParts => {
                let (bank, number, holder) = req.refund_account.clone().ok_or_else(|| {
                    ServiceError::BadInput(
                        "setRefundAccount needs bank, accountNumber and holder".into(),
                    )
                })?;
                repo::catalog::set_refund_account(db, c.customer_id, bank, number, holder).await?;
                repo::claims::update_parts_in_status(
                    db,
                    c.id,
                    "ACCOUNT_REQUIRED",
                    refund_part::ActiveModel {
                        status: Set("PENDING".into()),
                        next_attempt_at: Set(Some(now)),
                        updated_at: Set(now),
                        ..Default::default()
                    },
                )
                .await?;
            }
            Effect::DecidePolicy | Effect::ReserveReplacement | Effect::HoldWhileFeeUnpaid => {
                return Err(ServiceError::Corrupt(format!(
                    "effect {} is not available on {}",
                    effect.as_str(),
                    action.mutation_name()
                )));
            }
        }
    }
    // Units leave the open claim when it ends without closing them (withdrawn, rejected,
    // converted into a new claim that takes them over, exchanged).
    let closed_by_refund = transition.effects.contains(&Effect::Refund);
    // Refunding and awaiting-fee claims closed their units when they were priced.
    let units_closed = status.is_refunding() || status.awaits_fee();
    let leaves =
        transition.to.is_terminal() && !closed_by_refund && !status.is_terminal() && !units_closed;
    let converted = transition
        .effects
        .iter()
        .any(|e| matches!(e, Effect::OpenConverted(_)));
    if leaves && !converted {
        for item in &items {
            repo::claims::adjust_line(db, item.line_id, -item.quantity, 0, 0, None).await?;
        }
    }
    // What notifications need to word the change (the outbox message copies these keys).
    let after = |v: &sea_orm::ActiveValue<Option<String>>, before: &Option<String>| match v {
        sea_orm::ActiveValue::Set(x) | sea_orm::ActiveValue::Unchanged(x) => x.clone(),
        sea_orm::ActiveValue::NotSet => before.clone(),
    };
    payload["hold"] = json!(match &set.hold_phase {
        sea_orm::ActiveValue::Set(x) | sea_orm::ActiveValue::Unchanged(x) => x.clone(),
        sea_orm::ActiveValue::NotSet => c.hold_phase.clone(),
    });
    payload["holdReason"] = json!(after(&set.hold_reason, &c.hold_reason));
    payload["reason"] = json!(c.reason);
    let Some(updated) = repo::claims::update_claim(db, c.id, c.version, set).await? else {
        return Err(UserError::general(
            UserErrorCode::ClaimConflict,
            "the claim changed while this request ran; reload it and try again",
        )
        .into());
    };
    write_event(
        db,
        c.id,
        c.version + 1,
        actor,
        action,
        Some(status),
        transition.to,
        payload,
        now,
    )
    .await?;
    set_order_status(db, order.id, &lines, &line_changes, now).await?;
    Ok(ClaimChanged {
        claim_id: result_claim,
        // A conversion answers with the new claim, which the payload reads.
        claim: (result_claim == c.id).then_some(updated),
    })
}

pub(super) async fn waive_return_fee(
    db: &impl ConnectionTrait,
    c: &claim::Model,
) -> Result<(), ServiceError> {
    let Some(r) = repo::claims::refunds_of_claims(db, &[c.id])
        .await?
        .into_iter()
        .next()
    else {
        return Ok(());
    };
    let priced = stored_priced(c, &r);
    let settled = waive_fee(&priced).map_err(|e| ServiceError::Corrupt(e.to_string()))?;
    repo::claims::update_refund_deductions(db, r.id, store_deductions(&settled.deductions)).await?;
    Ok(())
}
