//! Opening a claim on order lines (`requestCancel`, `sellerCancel`, `requestReturn`,
//! `requestExchange`), with the replacements it reserves.

use chrono::{DateTime, Utc};
use entity::{claim, claim_item, order, order_line};
use sea_orm::{ConnectionTrait, DatabaseTransaction, Set};
use serde_json::json;

use crate::app::App;
use crate::domain::actor::Actor;
use crate::domain::claim::{
    check_reason, opening_kind, plan_opening, Opening, OpeningEffect, OpeningFacts, OpeningKind,
    OpeningRefusal, Settlement,
};
use crate::domain::money::Won;
use crate::domain::order::LineStatus;
use crate::domain::refund::PricedRefund;
use crate::error::{ServiceError, UserError, UserErrorCode};
use crate::repo;
use crate::repo::claim_writes::{ClaimFees, NewClaim};
use crate::repo::stored::StoredLine;
use crate::service::access::can_see_order;
use crate::service::idempotency::{self, Answer, Keyed};
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
    let mut runs = 0;
    loop {
        let answer = idempotency::once(app, actor, key.clone(), async |txn| {
            open_claim_in(app, txn, actor, &req).await
        })
        .await;
        runs += 1;
        if runs == policy::MAX_RUNS || !policy::compiled_what_was_missing(app, &answer.result).await
        {
            return answer;
        }
    }
}

pub(super) async fn open_claim_in(
    app: &App,
    txn: &DatabaseTransaction,
    actor: Actor,
    req: &OpenRequest,
) -> Result<ClaimChanged, ServiceError> {
    let now = app.clock.now();
    let (order, lines) = load_order(txn, actor, &req.order_number).await?;
    let units = pick_units(actor, req, &lines)?;
    let kind = opening_kind(req.action).ok_or_else(|| {
        ServiceError::Corrupt(format!("{} opens no claim", req.action.mutation_name()))
    })?;
    check_reason(req.action, req.reason).map_err(not_allowed)?;
    let opener = Opener {
        app,
        txn,
        actor,
        req,
        now,
        order: &order,
        lines: &lines,
        units: &units,
    };
    let fees = opener.decide_fees(kind).await?;
    let (opening, priced) = opener.plan(kind, &fees).await?;
    let (claim, items) = opener.insert(kind, &fees, &opening).await?;
    let line_changes = opener
        .run_effects(&claim, &items, &opening, priced.as_ref())
        .await?;
    opener.record(&claim, &fees, &opening).await?;
    set_order_status(txn, order.id, &lines, &line_changes, now).await?;
    tracing::info!(claim = %claim.claim_number, status = opening.status.as_str(), "claim opened");
    Ok(ClaimChanged {
        claim_id: claim.id,
        claim: Some(claim),
    })
}

/// The order, locked, with its lines, if the caller may see it.
async fn load_order(
    txn: &DatabaseTransaction,
    actor: Actor,
    number: &str,
) -> Result<(order::Model, Vec<order_line::Model>), ServiceError> {
    let not_found = || UserError::not_found(&["orderNumber"], "order");
    let order = repo::orders::order_by_number(txn, number, true)
        .await?
        .ok_or_else(not_found)?;
    if !can_see_order(txn, actor, &order).await? {
        return Err(not_found().into());
    }
    let lines = repo::orders::lines_of_orders(txn, &[order.id], None).await?;
    Ok((order, lines))
}

/// The units a request claims: one seller's lines, in one status, each named once, within
/// what is claimable.
struct Units<'a> {
    /// The seller whose lines they are.
    seller_id: i64,
    /// The lines' status.
    line_status: LineStatus,
    /// Each line with the units claimed of it.
    chosen: Vec<(&'a order_line::Model, &'a OpenItem)>,
}

fn pick_units<'a>(
    actor: Actor,
    req: &'a OpenRequest,
    lines: &'a [order_line::Model],
) -> Result<Units<'a>, ServiceError> {
    if req.items.is_empty() {
        return Err(ServiceError::BadInput(
            "a claim needs at least one item".into(),
        ));
    }
    let scope = actor.scope().seller();
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
        check_claimable(line, item, &idx)?;
        chosen.push((line, item));
    }
    let first = chosen[0].0;
    let refuse = |message| -> ServiceError {
        UserError::new(UserErrorCode::ClaimNotAllowed, &["items"], message).into()
    };
    if chosen.iter().any(|(l, _)| l.seller_id != first.seller_id) {
        return Err(refuse(
            "one claim covers one seller's lines: make one claim per seller",
        ));
    }
    if chosen.iter().any(|(l, _)| l.status != first.status) {
        return Err(refuse(
            "the lines of one claim must be in the same status; claim them separately",
        ));
    }
    Ok(Units {
        seller_id: first.seller_id,
        line_status: first.status()?,
        chosen,
    })
}

/// At least one unit, and no more than the line has outside closed and open claims.
fn check_claimable(
    line: &order_line::Model,
    item: &OpenItem,
    idx: &str,
) -> Result<(), ServiceError> {
    if item.quantity < 1 {
        return Err(UserError::new(
            UserErrorCode::InvalidQuantity,
            &["items", idx, "quantity"],
            "quantity must be at least 1",
        )
        .into());
    }
    let claimable = i64::from(
        line.quantity - line.cancelled_quantity - line.returned_quantity - line.claimed_quantity,
    );
    if item.quantity > claimable {
        return Err(UserError::new(
            UserErrorCode::NotEnoughUnits,
            &["items", idx, "quantity"],
            format!(
                "line {} has {claimable} claimable units ({} in open claims); {} asked",
                line.line_no, line.claimed_quantity, item.quantity
            ),
        )
        .into());
    }
    Ok(())
}

/// One opening under way: the request and what it was checked against.
struct Opener<'a> {
    app: &'a App,
    txn: &'a DatabaseTransaction,
    actor: Actor,
    req: &'a OpenRequest,
    now: DateTime<Utc>,
    order: &'a order::Model,
    lines: &'a [order_line::Model],
    units: &'a Units<'a>,
}

impl Opener<'_> {
    /// Fault and fees: fixed for a cancel (`money.md`), the seller's policy's otherwise.
    async fn decide_fees(&self, kind: OpeningKind) -> Result<PolicyFees, ServiceError> {
        if let Some(fault) = kind.fixed_fault {
            return Ok(PolicyFees::cancel(fault));
        }
        let picked: Vec<PickedLine<'_>> = self
            .units
            .chosen
            .iter()
            .map(|(l, i)| PickedLine {
                line: l,
                quantity: u32::try_from(i.quantity).unwrap_or(0),
                replacement_option_id: i.replacement_option_id,
            })
            .collect();
        let request = PolicyRequest {
            order: self.order,
            seller_id: self.units.seller_id,
            claim_type: kind.claim_type,
            reason: self.req.reason,
            memo: self.req.memo.as_deref(),
            method: self.req.collection_method,
            picked: &picked,
            lines: self.lines,
            now: self.now,
            check_window: true,
        };
        policy::decide(self.app, self.txn, request).await
    }

    /// The opening row, the refund it prices (how it settles picks the first status), and how
    /// the claim starts.
    async fn plan(
        &self,
        kind: OpeningKind,
        fees: &PolicyFees,
    ) -> Result<(Opening, Option<PricedRefund>), ServiceError> {
        let mut facts = OpeningFacts {
            line: self.units.line_status,
            reason: self.req.reason,
            fault: fees.fault(),
            settlement: Settlement::InPlace,
            fee_above_zero: fees.decision.exchange_fee > 0,
        };
        let row = plan_opening(&facts, self.req.action, self.actor.role()).map_err(not_allowed)?;
        let priced = if row.prices() {
            let basis = Pricing {
                claim_type: kind.claim_type,
                fault: facts.fault,
                fees: claim_fees(fees),
                credit: Won::ZERO,
            };
            let items = self.units.chosen.iter().map(|(l, i)| (l.id, i.quantity));
            let items = claim_items(items);
            Some(price_claim(self.txn, self.order, self.lines, items, basis).await?)
        } else {
            None
        };
        facts.settlement = priced.as_ref().map_or(Settlement::InPlace, settlement_of);
        let opening = row.start(&facts).map_err(not_allowed)?;
        Ok((opening, priced))
    }

    /// Inserts the claim and its items, numbered after the order's other claims.
    async fn insert(
        &self,
        kind: OpeningKind,
        fees: &PolicyFees,
        opening: &Opening,
    ) -> Result<(claim::Model, Vec<claim_item::Model>), ServiceError> {
        let existing = repo::claims::claims_of_orders(self.txn, &[self.order.id], None)
            .await?
            .len();
        let new = NewClaim {
            claim_number: format!("{}-C{}", self.order.order_number, existing + 1),
            order_id: self.order.id,
            seller_id: self.units.seller_id,
            customer_id: self.order.customer_id,
            status: opening.status,
            reason: self.req.reason,
            memo: self.req.memo.clone(),
            fault: fees.fault(),
            hold: opening.hold,
            carried_collection: None,
            collection_method: self.req.collection_method,
            converted_from: None,
            policy_decision: fees.recorded.clone(),
            fees: claim_fees(fees),
            fee_credit: Won::ZERO,
            requested_by: self.actor.role(),
            now: self.now,
        };
        debug_assert_eq!(new.status.claim_type(), kind.claim_type);
        let claim = repo::claim_writes::insert_claim(self.txn, new).await?;
        let units = self.units.chosen.iter();
        let items = units.map(|(l, i)| (l.id, i.quantity, i.replacement_option_id));
        let items = insert_items(self.txn, claim.id, items).await?;
        Ok((claim, items))
    }

    /// Runs the opening row's effects; units stay claimed unless a refund closes them now.
    /// Returns the lines whose status the refund changed.
    async fn run_effects(
        &self,
        claim: &claim::Model,
        items: &[claim_item::Model],
        opening: &Opening,
        priced: Option<&PricedRefund>,
    ) -> Result<Vec<(i64, LineStatus)>, ServiceError> {
        if !opening.effects.contains(&OpeningEffect::Refund) {
            for item in items {
                repo::claims::adjust_line(self.txn, item.line_id, item.quantity, 0, 0, None)
                    .await?;
            }
        }
        let mut line_changes = Vec::new();
        for effect in opening.effects {
            match effect {
                OpeningEffect::Refund => {
                    let p = priced.ok_or_else(|| {
                        ServiceError::Corrupt("an opening refunds a claim it did not price".into())
                    })?;
                    let at = ClaimInOrder {
                        order: self.order,
                        claim,
                        items,
                        lines: self.lines,
                    };
                    line_changes = persist_refund(self.txn, at, p, false, self.now).await?;
                }
                OpeningEffect::Restock => restock(self.txn, items, self.lines).await?,
                OpeningEffect::ReserveReplacement => {
                    reserve_replacements(self.txn, &self.units.chosen).await?
                }
                // Recorded with the opening's event; a credit only a conversion gives.
                OpeningEffect::DecidePolicy | OpeningEffect::CreditPaidFee => {}
            }
        }
        Ok(line_changes)
    }

    /// The plugins' outcomes (kept once the claim stands) and the claim's first timeline
    /// event.
    async fn record(
        &self,
        claim: &claim::Model,
        fees: &PolicyFees,
        opening: &Opening,
    ) -> Result<(), ServiceError> {
        fees.record(self.app, self.txn, claim.id, self.now).await?;
        let mut payload = json!({
            "reason": self.req.reason.as_str(),
            "fault": fees.fault().as_str(),
            "hold": opening.hold.phase_str(),
            "holdReason": opening.hold.reason().map(|r| r.as_str()),
        });
        if opening.effects.contains(&OpeningEffect::DecidePolicy) {
            payload["policyDecision"] = fees.recorded.clone();
        }
        if let Some(m) = &self.req.memo {
            payload["memo"] = json!(m);
        }
        let event = ClaimEvent {
            claim_id: claim.id,
            version: 1,
            actor: self.actor,
            action: self.req.action,
            from: None,
            to: opening.status,
            payload,
            now: self.now,
        };
        write_event(self.txn, event).await
    }
}

fn not_allowed(refusal: OpeningRefusal) -> ServiceError {
    UserError::general(
        UserErrorCode::ClaimNotAllowed,
        strip_code(&refusal.to_string()),
    )
    .into()
}

/// The fees a policy decided, as a claim stores them.
pub(super) fn claim_fees(fees: &PolicyFees) -> ClaimFees {
    ClaimFees {
        return_fee: fees.decision.return_fee,
        initial_shipping: fees.decision.initial_shipping,
        coupon_clawback: fees.decision.coupon_clawback,
        exchange_fee: fees.decision.exchange_fee,
    }
}

/// Inserts a claim's items, (line, units, replacement option) each, and returns them as
/// stored (their own ids are never read).
pub(super) async fn insert_items(
    db: &impl ConnectionTrait,
    claim_id: i64,
    items: impl Iterator<Item = (i64, i64, Option<i64>)>,
) -> Result<Vec<claim_item::Model>, ServiceError> {
    let items: Vec<claim_item::Model> = items
        .map(|(line_id, quantity, replacement)| claim_item::Model {
            id: 0,
            claim_id,
            line_id,
            quantity: i32::try_from(quantity).unwrap_or(i32::MAX),
            replacement_option_id: replacement,
        })
        .collect();
    let rows = items
        .iter()
        .map(|i| claim_item::ActiveModel {
            claim_id: Set(i.claim_id),
            line_id: Set(i.line_id),
            quantity: Set(i.quantity),
            replacement_option_id: Set(i.replacement_option_id),
            ..Default::default()
        })
        .collect();
    repo::claims::insert_items(db, rows).await?;
    Ok(items)
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
