//! Converting a return into an exchange and back: the claim closes and its units open again
//! under the other type.

use chrono::{DateTime, Utc};
use entity::{claim_item, order_line};
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::app::App;
use crate::domain::actor::Actor;
use crate::domain::claim::{
    ChangeCause, ClaimAction, ClaimType, ConvertedClaim, FaultChange, OpeningEffect, TermsChange,
};
use crate::domain::money::Won;
use crate::error::ServiceError;
use crate::repo;
use crate::repo::claim_writes::{NewClaim, Tracking};
use crate::repo::stored::StoredClaim;
use crate::service::policy::{self, PickedLine, PolicyFees, PolicyRequest};

use super::*;

/// A conversion under way: the claim it closes and the one its row opens.
pub(super) struct Conversion<'a> {
    pub(super) app: &'a App,
    pub(super) actor: Actor,
    /// The claim being converted, with its order, units and lines.
    pub(super) loaded: &'a Loaded,
    /// What the row opens.
    pub(super) target: &'static ConvertedClaim,
    /// Into an exchange: the replacement option of every line.
    pub(super) replacements: &'a [(i64, i64)],
    pub(super) now: DateTime<Utc>,
}

/// Opens the claim of a conversion over the same units, linked to the old one, and returns
/// its id.
pub(super) async fn open_converted(
    db: &impl ConnectionTrait,
    conversion: Conversion<'_>,
) -> Result<i64, ServiceError> {
    let c = &conversion.loaded.claim;
    let new_type = conversion.target.status.claim_type();
    let units = conversion.units(new_type)?;
    for effect in conversion.target.effects {
        match effect {
            OpeningEffect::ReserveReplacement => conversion.reserve(db, &units).await?,
            // Decided below, credited on the new claim's row; nothing to close or restock.
            OpeningEffect::DecidePolicy
            | OpeningEffect::CreditPaidFee
            | OpeningEffect::Refund
            | OpeningEffect::Restock => {}
        }
    }
    let fees = conversion.decide_fees(db, new_type, &units).await?;
    let new = conversion.new_claim(db, &fees).await?;
    let claim = repo::claim_writes::insert_claim(db, new).await?;
    fees.record(conversion.app, db, claim.id, conversion.now)
        .await?;
    insert_items(db, claim.id, units.iter().copied()).await?;
    let action = match new_type {
        ClaimType::Exchange => ClaimAction::ConvertToExchange,
        ClaimType::Return | ClaimType::Cancel => ClaimAction::ConvertToReturn,
    };
    let mut payload = json!({"convertedFrom": c.claim_number, "policyDecision": fees.recorded});
    // The policy decides the new claim afresh: a fault other than the old claim's is said
    // here (the new fees are the decision above), and so is an exchange fee carried over as
    // the return's credit.
    let terms = TermsChange {
        fault_change: FaultChange::between(c.fault()?, claim.fault()?, ChangeCause::Conversion),
        fee_change: None,
    };
    super::act::record_terms(&mut payload, &terms);
    if claim.fee_credit > 0 {
        payload["feeCredit"] = json!(claim.fee_credit);
    }
    let event = ClaimEvent {
        claim_id: claim.id,
        version: 1,
        actor: conversion.actor,
        action,
        from: None,
        to: conversion.target.status,
        payload,
        now: conversion.now,
    };
    write_event(db, event).await?;
    Ok(claim.id)
}

impl Conversion<'_> {
    /// The old claim's units, (line, units, replacement option) each: an exchange names the
    /// replacement of every line.
    fn units(&self, new_type: ClaimType) -> Result<Vec<(i64, i64, Option<i64>)>, ServiceError> {
        for (i, (line, _)) in self.replacements.iter().enumerate() {
            if self.replacements[..i]
                .iter()
                .any(|(other, _)| other == line)
            {
                return Err(ServiceError::BadInput(
                    "replacements names a line twice; give each line's replacement once".into(),
                ));
            }
        }
        let replacement_of = |item: &claim_item::Model| {
            self.replacements
                .iter()
                .find(|(line, _)| *line == item.line_id)
                .map(|(_, option)| *option)
                .ok_or_else(|| {
                    ServiceError::BadInput(
                        "converting into an exchange names a replacement option for every line"
                            .into(),
                    )
                })
        };
        self.loaded
            .items
            .iter()
            .map(|item| {
                let replacement = match new_type {
                    ClaimType::Exchange => Some(replacement_of(item)?),
                    ClaimType::Return | ClaimType::Cancel => None,
                };
                Ok((item.line_id, i64::from(item.quantity), replacement))
            })
            .collect()
    }

    fn line(&self, id: i64) -> Option<&order_line::Model> {
        self.loaded.lines.iter().find(|l| l.id == id)
    }

    async fn reserve(
        &self,
        db: &impl ConnectionTrait,
        units: &[(i64, i64, Option<i64>)],
    ) -> Result<(), ServiceError> {
        let items: Vec<OpenItem> = units
            .iter()
            .map(|(line_id, quantity, replacement)| OpenItem {
                line_id: *line_id,
                quantity: *quantity,
                replacement_option_id: *replacement,
            })
            .collect();
        let chosen: Vec<(&order_line::Model, &OpenItem)> = items
            .iter()
            .filter_map(|i| self.line(i.line_id).map(|l| (l, i)))
            .collect();
        reserve_replacements(db, &chosen).await
    }

    /// Fees and fault afresh for the new claim; the window was the original's.
    async fn decide_fees(
        &self,
        db: &impl ConnectionTrait,
        new_type: ClaimType,
        units: &[(i64, i64, Option<i64>)],
    ) -> Result<PolicyFees, ServiceError> {
        let c = &self.loaded.claim;
        let picked: Vec<PickedLine<'_>> = units
            .iter()
            .filter_map(|(line_id, quantity, replacement)| {
                Some(PickedLine {
                    line: self.line(*line_id)?,
                    quantity: u32::try_from(*quantity).unwrap_or(0),
                    replacement_option_id: *replacement,
                })
            })
            .collect();
        let request = PolicyRequest {
            order: &self.loaded.order,
            seller_id: c.seller_id,
            claim_type: new_type,
            reason: c.reason()?,
            memo: c.memo.as_deref(),
            method: c.collection_method()?,
            picked: &picked,
            lines: &self.loaded.lines,
            now: self.now,
            check_window: false,
        };
        policy::decide(self.app, db, request).await
    }

    /// The new claim: the old one's order, seller, reason and collection method, numbered
    /// after the order's other claims.
    async fn new_claim(
        &self,
        db: &impl ConnectionTrait,
        fees: &PolicyFees,
    ) -> Result<NewClaim, ServiceError> {
        let c = &self.loaded.claim;
        let existing = repo::claims::claims_of_orders(db, &[c.order_id], None)
            .await?
            .len();
        let order_number = c
            .claim_number
            .rsplit_once("-C")
            .map_or(c.claim_number.as_str(), |(order, _)| order);
        let carried = self.target.carries_collection.then(|| {
            let courier = c.collection_courier.clone();
            let number = c.collection_tracking.clone();
            courier.zip(number).map(Tracking::from)
        });
        let credits = self.target.effects.contains(&OpeningEffect::CreditPaidFee);
        Ok(NewClaim {
            claim_number: format!("{order_number}-C{}", existing + 1),
            order_id: c.order_id,
            seller_id: c.seller_id,
            customer_id: c.customer_id,
            status: self.target.status,
            reason: c.reason()?,
            memo: c.memo.clone(),
            fault: fees.fault(),
            hold: self.target.hold.state(fees.decision.exchange_fee > 0),
            carried_collection: carried,
            collection_method: c.collection_method()?,
            converted_from: Some(c.id),
            policy_decision: fees.recorded.clone(),
            fees: claim_fees(fees),
            fee_credit: Won::new(if credits { c.fee_paid } else { 0 }),
            requested_by: self.actor.role(),
            now: self.now,
        })
    }
}
