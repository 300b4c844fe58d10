//! Acting on a claim: one transition of the table, its effects, and the refund it prices.
//!
//! In phases: check the request, [`plan`](plan_action) (the row, the fault, the refund it
//! prices, the transition), run the row's [effects](Acting::run), then [record](Acting::record)
//! the claim's update, its timeline event and the order's status.

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::app::App;
use crate::courier::PickupRequest;
use crate::domain::actor::{Actor, Role};
use crate::domain::claim::{
    plan, ClaimAction, ClaimStatus, ClaimType, Effect, Fault, FeeChange, HoldReason, HoldState,
    Reason, Settlement, TermsChange, Transition,
};
use crate::domain::money::Won;
use crate::domain::order::LineStatus;
use crate::domain::refund::{waive_fee, PricedRefund};
use crate::error::{ServiceError, UserError, UserErrorCode};
use crate::repo;
use crate::repo::claim_writes::{ClaimUpdate, PartsUpdate, Tracking};
use crate::repo::stored::StoredClaim;
use crate::service::idempotency::{self, Answer, Keyed};
use crate::service::policy;

use super::*;

/// Takes `action` on a claim, as the transition table decides.
pub async fn act(
    app: &App,
    actor: Actor,
    action: ClaimAction,
    key: Option<Keyed>,
    req: ActRequest,
) -> Answer<ClaimChanged> {
    let mut runs = 0;
    loop {
        let answer = idempotency::once(app, actor, key.clone(), async |txn| {
            act_in(app, txn, actor, action, &req, app.clock.now()).await
        })
        .await;
        runs += 1;
        // A conversion asks the seller's policy.
        if runs == policy::MAX_RUNS || !policy::compiled_what_was_missing(app, &answer.result).await
        {
            return answer;
        }
    }
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
    let loaded = load_claim_for(db, actor, &req.claim_number).await?;
    check_request(&loaded, action, req)?;
    let planned = plan_action(db, &loaded, action, actor.role(), req)
        .await
        .map_err(|e| {
            let attempts = app.jobs.refund_max_attempts.get();
            explain_refund_wait(e, action, actor.role(), &loaded.parts, attempts)
        })?;
    let mut acting = Acting {
        app,
        db,
        actor,
        action,
        req,
        now,
        loaded: &loaded,
        planned: &planned,
        update: planned.first_update(req),
        payload: json!({}),
        line_changes: Vec::new(),
        answer: loaded.claim.id,
    };
    for effect in planned.transition.effects {
        acting.run(*effect).await?;
    }
    if planned.transition.releases_units(planned.from) {
        for item in &loaded.items {
            repo::claims::adjust_line(db, item.line_id, -item.quantity, 0, 0, None).await?;
        }
    }
    acting.record().await
}

/// Refusals that need no table: a stale version, `outOfStock` on a claim that is not a cancel,
/// a fee hold asked for by hand.
fn check_request(
    loaded: &Loaded,
    action: ClaimAction,
    req: &ActRequest,
) -> Result<(), ServiceError> {
    let c = &loaded.claim;
    if let Some(expected) = req.expected_version.filter(|v| *v != c.version) {
        return Err(UserError::new(
            UserErrorCode::StaleVersion,
            &["expectedVersion"],
            format!(
                "claim {} is at version {}, not {expected}; reload it and try again",
                c.claim_number, c.version
            ),
        )
        .into());
    }
    // `outOfStock` makes a cancel the seller's; on any other claim it would change nothing,
    // and an approval that silently ignored it would look like one that explained itself.
    let claim_type = c.claim_type()?;
    if req.out_of_stock && claim_type != ClaimType::Cancel {
        let instead = match claim_type {
            ClaimType::Exchange => {
                "; when the replacement cannot be delivered, convert the exchange into a \
                 return (convertClaim) or, once the goods are collected, refund it \
                 (refundExchange)"
            }
            ClaimType::Return | ClaimType::Cancel => "",
        };
        return Err(UserError::new(
            UserErrorCode::InvalidInput,
            &["outOfStock"],
            format!(
                "outOfStock applies to a cancel request only, not to the {} claim {}{instead}",
                c.claim_type.to_lowercase(),
                c.claim_number
            ),
        )
        .into());
    }
    let by_hand = |reason: HoldReason| HoldReason::MANUAL.contains(&reason);
    if action == ClaimAction::HoldClaim && req.hold_reason.is_some_and(|r| !by_hand(r)) {
        return Err(ServiceError::BadInput(
            "RETURN_FEE_UNPAID holds are placed by the SYSTEM only".into(),
        ));
    }
    Ok(())
}

/// What the table decided for this action on this claim, the refund priced first when the
/// row prices one (how it settles picks the status).
pub(super) struct Planned {
    /// The status before.
    pub(super) from: ClaimStatus,
    /// The hold before.
    hold: HoldState,
    /// The claim's reason.
    reason: Reason,
    /// The fault after the row.
    fault: Fault,
    /// What the row changes of the fault and fees, for the timeline event.
    terms: TermsChange,
    /// The refund priced for a completing row.
    priced: Option<PricedRefund>,
    /// What the row does.
    pub(super) transition: Transition,
    /// The caller's role.
    role: Role,
}

async fn plan_action(
    db: &impl ConnectionTrait,
    loaded: &Loaded,
    action: ClaimAction,
    role: Role,
    req: &ActRequest,
) -> Result<Planned, ServiceError> {
    let c = &loaded.claim;
    let mut facts = facts_of(c, &loaded.parts)?;
    // Refused before pricing: a claim another request has just closed has no units to price.
    let row = plan(&facts, action, role).map_err(refusal)?;
    let stored_fault = c.fault()?;
    let fault_change = row.fault_change(stored_fault, req.out_of_stock);
    let fault = fault_change.map_or(stored_fault, |change| change.to);
    let price = async |fault: Fault| {
        let units = loaded
            .items
            .iter()
            .map(|i| (i.line_id, i64::from(i.quantity)));
        let (order, lines) = (&loaded.order, &loaded.lines);
        let basis = Pricing::of(c, fault)?;
        price_claim(db, order, lines, claim_items(units), basis).await
    };
    let priced = if row.prices() {
        Some(price(fault).await?)
    } else {
        None
    };
    let mut terms = TermsChange {
        fault_change,
        fee_change: None,
    };
    if let (Some(change), Some(p)) = (fault_change, &priced) {
        // What the customer would have borne had the fault stayed: a cancel or return priced
        // by the old fault, an exchange its fee.
        let before = match c.claim_type()? {
            ClaimType::Cancel | ClaimType::Return => charged(&price(change.from).await?),
            ClaimType::Exchange => Won::new(c.exchange_fee),
        };
        terms.fee_change = FeeChange::between(before, charged(p), change.because);
    }
    facts.settlement = priced.as_ref().map_or(Settlement::InPlace, settlement_of);
    let transition = row.transition(&facts).map_err(refusal)?;
    Ok(Planned {
        from: facts.status,
        hold: facts.hold,
        reason: c.reason()?,
        fault,
        terms,
        priced,
        transition,
        role,
    })
}

/// Adds what a transition changed of the claim's fault and fees to its timeline event's
/// payload (`faultChange`, `feeChange`; `Claim.timeline`, `claimEvents`, webhooks).
pub(super) fn record_terms(payload: &mut serde_json::Value, terms: &TermsChange) {
    if let (Some(event), Ok(serde_json::Value::Object(change))) =
        (payload.as_object_mut(), serde_json::to_value(terms))
    {
        event.extend(change);
    }
}

/// What a priced refund charges the customer: its deductions, covered or owed.
fn charged(p: &PricedRefund) -> Won {
    p.deductions.iter().map(|d| d.amount).sum()
}

impl Planned {
    /// The update every transition makes: status, fault, hold, and the status a seller's
    /// rejection came from (the closing time is set when the update is recorded).
    fn first_update(&self, req: &ActRequest) -> ClaimUpdate {
        let to = self.transition.to;
        let hold = self
            .transition
            .hold_after(self.hold, req.hold_reason, self.role);
        ClaimUpdate {
            status: Some(to),
            fault: Some(self.fault),
            hold: Some((hold, req.memo.clone())),
            rejected_from: to.is_reject_pending().then_some(self.from),
            ..ClaimUpdate::default()
        }
    }
}

/// One transition under way: what it acts on and what it has done so far.
struct Acting<'a, C> {
    app: &'a App,
    db: &'a C,
    actor: Actor,
    action: ClaimAction,
    req: &'a ActRequest,
    now: DateTime<Utc>,
    loaded: &'a Loaded,
    planned: &'a Planned,
    /// The claim's columns the effects change.
    update: ClaimUpdate,
    /// The timeline event's details (notifications word the change from them).
    payload: serde_json::Value,
    /// Lines whose status the refund changed.
    line_changes: Vec<(i64, LineStatus)>,
    /// The claim to answer with (a conversion's new claim).
    answer: i64,
}

impl<C: ConnectionTrait> Acting<'_, C> {
    /// Runs one effect of the row.
    async fn run(&mut self, effect: Effect) -> Result<(), ServiceError> {
        match effect {
            Effect::Refund => self.refund().await,
            Effect::RestockUnlessOutOfStock => {
                if !self.req.out_of_stock {
                    restock(self.db, &self.loaded.items, &self.loaded.lines).await?;
                }
                Ok(())
            }
            Effect::RestockUnlessDefective => self.restock_unless_defective().await,
            Effect::ReleaseReservation => release_replacements(self.db, &self.loaded.items).await,
            Effect::BookPickup => self.book_pickup().await,
            Effect::CancelPickup => {
                self.update.collection = Some(None);
                Ok(())
            }
            Effect::RecordCollection => {
                self.update.collection = Some(Some(self.tracking("the collection")?));
                Ok(())
            }
            Effect::ReDeliver => {
                self.update.redelivery = self.req.tracking.clone().map(Tracking::from);
                Ok(())
            }
            Effect::ConsumeReplacement => {
                self.update.reship = Some(self.tracking("the replacement")?);
                Ok(())
            }
            Effect::ShipAnotherReplacement => self.ship_another_replacement().await,
            Effect::WriteOffShippedReplacement => {
                self.payload["writtenOff"] = json!(true);
                Ok(())
            }
            Effect::RecordRejection(code) => {
                self.update.rejection_code = Some(code);
                Ok(())
            }
            Effect::WaiveFee => self.waive_fee().await,
            Effect::RefundPaidFee => self.refund_paid_fee().await,
            Effect::RecordFeePayment => self.record_fee_payment().await,
            Effect::OpenConverted(target) => self.open_converted(target).await,
            Effect::RetryFailedParts => self.repair_parts(PartsUpdate::RetryFailed).await,
            Effect::MarkFailedPartsManual => {
                let reference = self.req.reference.clone().ok_or_else(|| {
                    ServiceError::BadInput(
                        "resolveRefundManually needs the outside payment's reference".into(),
                    )
                })?;
                let memo = self.req.memo.clone();
                self.repair_parts(PartsUpdate::ResolvedManually { reference, memo })
                    .await
            }
            Effect::RetryAccountRequiredParts => self.set_refund_account().await,
        }
    }

    /// The courier and tracking number the action must carry.
    fn tracking(&self, what: &str) -> Result<Tracking, ServiceError> {
        self.req
            .tracking
            .clone()
            .map(Tracking::from)
            .ok_or_else(|| {
                ServiceError::BadInput(format!(
                    "{} needs a courier and a tracking number ({what})",
                    self.action.mutation_name()
                ))
            })
    }

    async fn refund(&mut self) -> Result<(), ServiceError> {
        let Some(p) = &self.planned.priced else {
            return Err(ServiceError::Corrupt(format!(
                "{} refunds a claim it did not price",
                self.action.mutation_name()
            )));
        };
        let at = self.loaded.in_order();
        self.line_changes = persist_refund(self.db, at, p, true, self.now).await?;
        self.payload["refund"] = json!({"cash": p.cash, "points": p.points, "feeDue": p.fee_due});
        Ok(())
    }

    async fn restock_unless_defective(&mut self) -> Result<(), ServiceError> {
        let back = self
            .req
            .restock
            .unwrap_or(self.planned.reason != Reason::Defective);
        self.update.restock = Some(back);
        if back {
            restock(self.db, &self.loaded.items, &self.loaded.lines).await?;
        }
        Ok(())
    }

    async fn book_pickup(&mut self) -> Result<(), ServiceError> {
        let c = &self.loaded.claim;
        if c.collection_method != CollectionMethod::Pickup.as_str() {
            self.payload["pickup"] = json!("customer ships to the seller's return address");
            return Ok(());
        }
        // Keyed by claim and version: a retried approval books once.
        let booking = self
            .app
            .courier
            .book_pickup(PickupRequest {
                idempotency_key: format!("{}-v{}", c.claim_number, c.version),
                claim_number: c.claim_number.clone(),
                order_number: self.loaded.order.order_number.clone(),
            })
            .await
            .map_err(|e| {
                UserError::general(
                    UserErrorCode::CourierUnavailable,
                    format!("{e}; try again, or let the customer ship the goods"),
                )
            })?;
        self.update.collection = Some(Some(Tracking {
            courier: booking.courier,
            number: booking.tracking_number,
        }));
        self.payload["pickup"] = json!("booked");
        Ok(())
    }

    async fn ship_another_replacement(&mut self) -> Result<(), ServiceError> {
        let tracking = self.tracking("the new replacement")?;
        for item in &self.loaded.items {
            let Some(option) = item.replacement_option_id else {
                continue;
            };
            if !repo::catalog::take_stock(self.db, option, i64::from(item.quantity)).await? {
                return Err(UserError::general(
                    UserErrorCode::OutOfStock,
                    format!(
                        "option {option} has no stock for another replacement; use \
                         refundExchange"
                    ),
                )
                .into());
            }
        }
        self.update.reship = Some(tracking);
        Ok(())
    }

    async fn waive_fee(&mut self) -> Result<(), ServiceError> {
        let c = &self.loaded.claim;
        if self.planned.from == ClaimStatus::ReturnAwaitingFee {
            waive_return_fee(self.db, c).await?;
        } else {
            self.update.exchange_fee = Some(Won::new(c.fee_paid));
        }
        self.payload["waived"] = json!(true);
        Ok(())
    }

    async fn refund_paid_fee(&mut self) -> Result<(), ServiceError> {
        let c = &self.loaded.claim;
        if c.fee_paid > 0 {
            refund_paid_fee(self.db, &self.loaded.order, c, self.now).await?;
            self.payload["feeRefunded"] = json!(c.fee_paid);
        }
        Ok(())
    }

    async fn record_fee_payment(&mut self) -> Result<(), ServiceError> {
        let (at, from) = (self.loaded.in_order(), self.planned.from);
        let by = self.req.paid_by.clone();
        let paid =
            record_fee_payment(self.app, self.db, at, from, self.req.fee, by, self.now).await?;
        self.update.fee_paid = Some(Won::new(self.loaded.claim.fee_paid) + paid);
        self.payload["feePaid"] = json!(paid);
        Ok(())
    }

    async fn open_converted(
        &mut self,
        target: &'static crate::domain::claim::ConvertedClaim,
    ) -> Result<(), ServiceError> {
        let conversion = Conversion {
            app: self.app,
            actor: self.actor,
            loaded: self.loaded,
            target,
            replacements: &self.req.replacements,
            now: self.now,
        };
        let new_id = open_converted(self.db, conversion).await?;
        self.update.converted_to = Some(new_id);
        self.payload["convertedTo"] = json!(new_id);
        self.answer = new_id;
        Ok(())
    }

    async fn repair_parts(&mut self, update: PartsUpdate) -> Result<(), ServiceError> {
        let claim_id = self.loaded.claim.id;
        repo::claim_writes::update_parts(self.db, claim_id, update, self.now).await?;
        Ok(())
    }

    async fn set_refund_account(&mut self) -> Result<(), ServiceError> {
        let needed = || {
            ServiceError::BadInput("setRefundAccount needs bank, accountNumber and holder".into())
        };
        let (bank, number, holder) = self.req.refund_account.clone().ok_or_else(needed)?;
        if [&bank, &number, &holder]
            .iter()
            .any(|v| v.trim().is_empty())
        {
            return Err(needed());
        }
        let customer = self.loaded.claim.customer_id;
        repo::catalog::set_refund_account(self.db, customer, bank, number, holder).await?;
        self.repair_parts(PartsUpdate::AccountGiven).await
    }

    /// Writes the claim's update under its version, the timeline event (and outbox message)
    /// and the order's status.
    async fn record(mut self) -> Result<ClaimChanged, ServiceError> {
        let c = &self.loaded.claim;
        let to = self.planned.transition.to;
        if to.is_terminal() {
            self.update.closed_at = Some(self.now);
        }
        // What notifications need to word the change (the outbox message copies these keys).
        let (hold, hold_reason) = self.update.hold_after(c);
        if let Some(memo) = &self.req.memo {
            self.payload["memo"] = json!(memo);
        }
        self.payload["hold"] = json!(hold);
        self.payload["holdReason"] = json!(hold_reason);
        // The reason stays the customer's; a moved fault or fee says why here.
        self.payload["reason"] = json!(c.reason);
        record_terms(&mut self.payload, &self.planned.terms);
        let update = std::mem::take(&mut self.update);
        let Some(updated) =
            repo::claim_writes::update_claim(self.db, c.id, c.version, update, self.now).await?
        else {
            return Err(UserError::general(
                UserErrorCode::ClaimConflict,
                "the claim changed while this request ran; reload it and try again",
            )
            .into());
        };
        let event = ClaimEvent {
            claim_id: c.id,
            version: c.version + 1,
            actor: self.actor,
            action: self.action,
            from: Some(self.planned.from),
            to,
            payload: std::mem::take(&mut self.payload),
            now: self.now,
        };
        write_event(self.db, event).await?;
        let l = self.loaded;
        set_order_status(self.db, l.order.id, &l.lines, &self.line_changes, self.now).await?;
        Ok(ClaimChanged {
            claim_id: self.answer,
            // A conversion answers with the new claim, which the payload reads.
            claim: (self.answer == c.id).then_some(updated),
        })
    }
}

pub(super) async fn waive_return_fee(
    db: &impl ConnectionTrait,
    c: &entity::claim::Model,
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
