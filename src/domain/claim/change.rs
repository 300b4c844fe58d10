//! What a transition changed about who is at fault and what the customer pays, as its timeline
//! event records it. The timeline is the audit trail (`claims.md`): a claim's fault or fees
//! never change without an event that says from what, to what, and why. The claim's reason
//! stays what the customer gave, so that analytics by reason keep their meaning; the event
//! carries the cause instead.

use serde::{Deserialize, Serialize};

use super::status::Fault;
use crate::domain::money::Won;

/// Why a transition moved a claim's fault or fees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ChangeCause {
    /// The seller approved a cancel request for want of stock (품절): a SELLER-fault cancel,
    /// whatever reason the customer gave (`approveClaim(outOfStock: true)`).
    OutOfStock,
    /// The seller cannot deliver the replacement (`refundExchange`): the exchange is refunded
    /// as a SELLER-fault return (`money.md`).
    ReplacementUndeliverable,
    /// The claim was opened by a conversion: its policy decided fault and fees afresh for the
    /// new claim type (`claims.md`, "Conversion").
    Conversion,
}

impl ChangeCause {
    /// Every cause.
    pub const ALL: [ChangeCause; 3] = [
        ChangeCause::OutOfStock,
        ChangeCause::ReplacementUndeliverable,
        ChangeCause::Conversion,
    ];
}

/// The fault moving from one party to the other (귀책 변경).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultChange {
    /// The fault before.
    pub from: Fault,
    /// The fault after.
    pub to: Fault,
    /// Why.
    pub because: ChangeCause,
}

impl FaultChange {
    /// The change from `from` to `to`; none when they are the same party.
    pub fn between(from: Fault, to: Fault, because: ChangeCause) -> Option<FaultChange> {
        (from != to).then_some(FaultChange { from, to, because })
    }
}

/// The fees the customer bears for a claim, before and after a transition changed them: the
/// deductions from the claim's refund when the transition prices one, the claim's exchange
/// fee otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeChange {
    /// What the customer would have borne had nothing changed.
    pub before: Won,
    /// What the customer bears now.
    pub after: Won,
    /// Why.
    pub because: ChangeCause,
}

impl FeeChange {
    /// The change from `before` to `after`; none when they are equal.
    pub fn between(before: Won, after: Won, because: ChangeCause) -> Option<FeeChange> {
        (before != after).then_some(FeeChange {
            before,
            after,
            because,
        })
    }
}

/// What a transition changed of a claim's fault and fees, as its timeline event records it
/// (the `faultChange` and `feeChange` keys of the event's payload).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TermsChange {
    /// The fault, if it moved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault_change: Option<FaultChange>,
    /// The fees, if they changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_change: Option<FeeChange>,
}

impl TermsChange {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.fault_change.is_none() && self.fee_change.is_none()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn only_a_real_change_is_recorded() {
        let cause = ChangeCause::OutOfStock;
        assert_eq!(
            FaultChange::between(Fault::Customer, Fault::Customer, cause),
            None
        );
        assert_eq!(
            FaultChange::between(Fault::Customer, Fault::Seller, cause),
            Some(FaultChange {
                from: Fault::Customer,
                to: Fault::Seller,
                because: cause
            })
        );
        assert_eq!(FeeChange::between(Won::new(0), Won::new(0), cause), None);
        assert!(FeeChange::between(Won::new(3000), Won::new(0), cause).is_some());
    }

    #[test]
    fn the_payload_keys_are_stable() {
        let change = TermsChange {
            fault_change: FaultChange::between(
                Fault::Customer,
                Fault::Seller,
                ChangeCause::OutOfStock,
            ),
            fee_change: FeeChange::between(Won::new(3000), Won::new(0), ChangeCause::OutOfStock),
        };
        let json = serde_json::to_value(change).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "faultChange": {"from": "CUSTOMER", "to": "SELLER", "because": "OUT_OF_STOCK"},
                "feeChange": {"before": 3000, "after": 0, "because": "OUT_OF_STOCK"},
            })
        );
        assert_eq!(serde_json::from_value::<TermsChange>(json).unwrap(), change);
        assert!(serde_json::to_value(TermsChange::default())
            .unwrap()
            .as_object()
            .unwrap()
            .is_empty());
    }
}
