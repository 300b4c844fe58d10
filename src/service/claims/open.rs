//! Opening a claim on order lines (`requestCancel`, `sellerCancel`, `requestReturn`,
//! `requestExchange`), with the replacements it reserves.

use entity::{claim, claim_item, order_line};
use sea_orm::{ConnectionTrait, DatabaseTransaction, Set};
use serde_json::json;

use crate::app::App;
use crate::domain::actor::Actor;
use crate::domain::claim::{
    open, role_code, ClaimAction, ClaimType, Effect, Fault, OpeningFacts, Settlement,
};
use crate::domain::money::Won;
use crate::domain::order::LineStatus;
use crate::domain::refund::{price_refund, ClaimKind};
use crate::error::{ServiceError, UserError, UserErrorCode};
use crate::repo;
use crate::service::idempotency::{self, Answer, Keyed};
use crate::service::orders::{can_see_order, seller_scope};
use crate::service::policy::{self, PickedLine, PolicyFees, PolicyRequest};

use super::*;

/// Opens a claim on order lines (`requestCancel`, `sellerCancel`, `requestReturn`,
/// `requestExchange`).
pub async fn open_claim(
    app: &App,
    actor: Actor,
    key: Option<Keyed>,
    req: OpenRequest,
) -> Answer<ClaimChanged> {
    idempotency::once(app, actor, key, async |txn| {
        open_claim_in(app, txn, actor, &req).await
    })
    .await
}

pub(super) async fn open_claim_in(
    app: &App,
    txn: &DatabaseTransaction,
    actor: Actor,
    req: &OpenRequest,
) -> Result<ClaimChanged, ServiceError> {
    let role = actor.role();
    let now = app.clock.now();
    let order = repo::orders::order_by_number(txn, &req.order_number, true)
        .await?
        .ok_or_else(|| UserError::not_found(&["orderNumber"], "order"))?;
    if !can_see_order(txn, actor, &order).await? {
        return Err(UserError::not_found(&["orderNumber"], "order").into());
    }
    if req.items.is_empty() {
        return Err(ServiceError::BadInput(
            "a claim needs at least one item".into(),
        ));
    }
    let scope = seller_scope(actor);
    let lines = repo::orders::lines_of_orders(txn, &[order.id], None).await?;
    let mut chosen: Vec<(&order_line::Model, &OpenItem)> = Vec::new();
    for (i, item) in req.items.iter().enumerate() {
        let idx = i.to_string();
        let line = lines
            .iter()
            .find(|l| l.id == item.line_id && scope.is_none_or(|s| s == l.seller_id))
            .ok_or_else(|| UserError::not_found(&["items", &idx, "lineId"], "order line"))?;
        if chosen.iter().any(|(l, _)| l.id == line.id) {
            return Err(ServiceError::BadInput(format!(
                "line {} is named twice; give each line once with its quantity",
                line.line_no
            )));
        }
        if item.quantity < 1 {
            return Err(UserError::new(
                UserErrorCode::InvalidQuantity,
                &["items", &idx, "quantity"],
                "quantity must be at least 1",
            )
            .into());
        }
        let claimable = i64::from(
            line.quantity
                - line.cancelled_quantity
                - line.returned_quantity
                - line.claimed_quantity,
        );
        if item.quantity > claimable {
            return Err(UserError::new(
                UserErrorCode::NotEnoughUnits,
                &["items", &idx, "quantity"],
                format!(
                    "line {} has {claimable} claimable units ({} in open claims); {} asked",
                    line.line_no, line.claimed_quantity, item.quantity
                ),
            )
            .into());
        }
        chosen.push((line, item));
    }
    let seller_id = chosen[0].0.seller_id;
    if chosen.iter().any(|(l, _)| l.seller_id != seller_id) {
        return Err(UserError::new(
            UserErrorCode::ClaimNotAllowed,
            &["items"],
            "one claim covers one seller's lines: make one claim per seller",
        )
        .into());
    }
    let line_status: LineStatus = chosen[0].0.status.parse()?;
    if chosen.iter().any(|(l, _)| l.status != chosen[0].0.status) {
        return Err(UserError::new(
            UserErrorCode::ClaimNotAllowed,
            &["items"],
            "the lines of one claim must be in the same status; claim them separately",
        )
        .into());
    }
    let claim_type = match req.action {
        ClaimAction::RequestCancel | ClaimAction::SellerCancel => ClaimType::Cancel,
        ClaimAction::RequestReturn => ClaimType::Return,
        _ => ClaimType::Exchange,
    };
    let picked: Vec<PickedLine<'_>> = chosen
        .iter()
        .map(|(l, i)| PickedLine {
            line: l,
            quantity: u32::try_from(i.quantity).unwrap_or(0),
            replacement_option_id: i.replacement_option_id,
        })
        .collect();
    // A cancel's fault is fixed (money.md); returns and exchanges ask the seller's policy.
    let fees = match req.action {
        ClaimAction::RequestCancel => PolicyFees::cancel(Fault::Customer),
        ClaimAction::SellerCancel => PolicyFees::cancel(Fault::Seller),
        _ => {
            policy::decide(
                app,
                txn,
                PolicyRequest {
                    order: &order,
                    seller_id,
                    claim_type,
                    reason: req.reason,
                    memo: req.memo.as_deref(),
                    method: req.collection_method,
                    picked: &picked,
                    lines: &lines,
                    now,
                    check_window: true,
                },
            )
            .await?
        }
    };
    let fault = fees.fault();
    let return_fee = fees.decision.return_fee;
    let exchange_fee = fees.decision.exchange_fee;
    let decision = fees.recorded.clone();
    let existing = repo::claims::claims_of_orders(txn, &[order.id], None)
        .await?
        .len();
    let mut row = claim::Model {
        id: 0,
        claim_number: format!("{}-C{}", order.order_number, existing + 1),
        order_id: order.id,
        seller_id,
        customer_id: order.customer_id,
        claim_type: claim_type.as_str().to_owned(),
        status: String::new(),
        reason: req.reason.as_str().to_owned(),
        memo: req.memo.clone(),
        fault: fault.as_str().to_owned(),
        hold_phase: "NONE".into(),
        hold_reason: None,
        hold_by: None,
        hold_memo: None,
        carries_collection: false,
        rejected_from: None,
        rejection_code: None,
        collection_method: req.collection_method.as_str().to_owned(),
        collection_courier: None,
        collection_tracking: None,
        reship_courier: None,
        reship_tracking: None,
        redelivery_courier: None,
        redelivery_tracking: None,
        converted_from_id: None,
        converted_to_id: None,
        policy_decision: decision.to_string(),
        return_fee,
        initial_shipping_applies: fees.decision.initial_shipping,
        coupon_clawback_applies: fees.decision.coupon_clawback,
        exchange_fee,
        fee_paid: 0,
        fee_credit: 0,
        restock: None,
        requested_by: role_code(role).to_owned(),
        requested_at: now,
        updated_at: now,
        closed_at: None,
        version: 1,
    };
    let items: Vec<claim_item::Model> = chosen
        .iter()
        .map(|(l, i)| claim_item::Model {
            id: 0,
            claim_id: 0,
            line_id: l.id,
            quantity: i32::try_from(i.quantity).unwrap_or(i32::MAX),
            replacement_option_id: i.replacement_option_id,
        })
        .collect();
    // Only a cancel is priced when it opens.
    let priced = if claim_type == ClaimType::Cancel {
        let ledger = load_ledger(txn, &order, &lines).await?;
        let mut p = price_refund(
            &ledger,
            &to_price(&row, &items, ClaimKind::Cancel { fault }),
        )
        .map_err(|e| ServiceError::Corrupt(e.to_string()))?;
        p.effect = ledger.changes_of(p.effect);
        Some(p)
    } else {
        None
    };
    let opening = open(
        &OpeningFacts {
            line: line_status,
            reason: req.reason,
            fault,
            settlement: priced.as_ref().map_or(Settlement::InPlace, settlement_of),
            fee_above_zero: exchange_fee > 0,
        },
        req.action,
        role,
    )
    .map_err(|e| {
        ServiceError::User(UserError::general(
            UserErrorCode::ClaimNotAllowed,
            strip_code(&e.to_string()),
        ))
    })?;

    if claim_type == ClaimType::Exchange {
        reserve_replacements(txn, &chosen).await?;
    }
    row.status = opening.status.as_str().to_owned();
    row.closed_at = opening.status.is_terminal().then_some(now);
    let mut active = claim::ActiveModel::from(row.clone());
    active.id = sea_orm::ActiveValue::NotSet;
    set_hold(&mut active, opening.hold, None);
    let claim_id = repo::claims::insert_claim(txn, active.clone()).await?;
    active.id = Set(claim_id);
    let row = sea_orm::TryIntoModel::try_into_model(active)
        .map_err(|e| ServiceError::Corrupt(e.to_string()))?;
    fees.record(app, txn, claim_id, now).await?;
    let item_rows: Vec<claim_item::ActiveModel> = items
        .iter()
        .map(|i| claim_item::ActiveModel {
            claim_id: Set(claim_id),
            line_id: Set(i.line_id),
            quantity: Set(i.quantity),
            replacement_option_id: Set(i.replacement_option_id),
            ..Default::default()
        })
        .collect();
    repo::claims::insert_items(txn, item_rows).await?;
    // The items as inserted (their ids are not needed below).
    let items: Vec<claim_item::Model> = items
        .into_iter()
        .map(|i| claim_item::Model { claim_id, ..i })
        .collect();

    let closes = opening.effects.contains(&Effect::Refund);
    let mut line_changes = Vec::new();
    for item in &items {
        if !closes {
            repo::claims::adjust_line(txn, item.line_id, item.quantity, 0, 0, None).await?;
        }
    }
    let mut payload = json!({ "reason": req.reason.as_str(), "fault": fault.as_str() });
    for effect in opening.effects {
        match effect {
            Effect::Refund => {
                if let Some(p) = &priced {
                    line_changes =
                        persist_refund(txn, &order, &row, &items, &lines, p, false, now).await?;
                }
            }
            Effect::Restock => restock(txn, &items, &lines).await?,
            Effect::DecidePolicy => payload["policyDecision"] = decision.clone(),
            Effect::ReserveReplacement | Effect::HoldWhileFeeUnpaid => {}
            other => {
                return Err(ServiceError::Corrupt(format!(
                    "opening effect {} not expected",
                    other.as_str()
                )))
            }
        }
    }
    payload["hold"] = json!(opening.hold.phase_str());
    payload["holdReason"] = json!(opening.hold.reason().map(|r| r.as_str()));
    if let Some(m) = &req.memo {
        payload["memo"] = json!(m);
    }
    write_event(
        txn,
        claim_id,
        1,
        actor,
        req.action,
        None,
        opening.status,
        payload,
        now,
    )
    .await?;
    set_order_status(txn, order.id, &lines, &line_changes, now).await?;
    tracing::info!(claim = %row.claim_number, status = opening.status.as_str(), "claim opened");
    Ok(ClaimChanged {
        claim_id,
        claim: Some(row),
    })
}

pub(super) async fn reserve_replacements(
    db: &impl ConnectionTrait,
    chosen: &[(&order_line::Model, &OpenItem)],
) -> Result<(), ServiceError> {
    for (i, (line, item)) in chosen.iter().enumerate() {
        let idx = i.to_string();
        let option_id = item.replacement_option_id.ok_or_else(|| {
            UserError::new(
                UserErrorCode::InvalidQuantity,
                &["items", &idx, "replacementOptionId"],
                "an exchange names the replacement option of every line",
            )
        })?;
        let found = repo::catalog::options_with_products(db, &[option_id]).await?;
        let replacement = found.get(&option_id).ok_or_else(|| {
            UserError::new(
                UserErrorCode::UnknownOption,
                &["items", &idx, "replacementOptionId"],
                format!("product option {option_id} does not exist"),
            )
        })?;
        if replacement.product.id != line.product_id {
            return Err(UserError::new(UserErrorCode::ClaimNotAllowed, &["items", &idx, "replacementOptionId"], "the replacement must be another option of the same product; return it and order anew").into());
        }
        if replacement.option.price != line.unit_price {
            return Err(UserError::new(
                UserErrorCode::PriceDifferenceNotSupported,
                &["items", &idx, "replacementOptionId"],
                format!(
                    "the replacement costs {} and the original {}; return it and order anew",
                    Won::new(replacement.option.price),
                    Won::new(line.unit_price)
                ),
            )
            .into());
        }
        if !repo::catalog::take_stock(db, option_id, item.quantity).await? {
            return Err(UserError::new(
                UserErrorCode::OutOfStock,
                &["items", &idx, "replacementOptionId"],
                format!("option {option_id} has not enough stock for the replacement"),
            )
            .into());
        }
    }
    Ok(())
}

pub(super) async fn restock(
    db: &impl ConnectionTrait,
    items: &[claim_item::Model],
    lines: &[order_line::Model],
) -> Result<(), ServiceError> {
    for item in items {
        if let Some(line) = lines.iter().find(|l| l.id == item.line_id) {
            repo::claims::add_stock(db, line.option_id, i64::from(item.quantity)).await?;
        }
    }
    Ok(())
}

pub(super) async fn release_replacements(
    db: &impl ConnectionTrait,
    items: &[claim_item::Model],
) -> Result<(), ServiceError> {
    for item in items {
        if let Some(option) = item.replacement_option_id {
            repo::claims::add_stock(db, option, i64::from(item.quantity)).await?;
        }
    }
    Ok(())
}
