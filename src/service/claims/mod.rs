//! Claims (취소·교환·반품): opening them on order lines and acting on them, exactly as the
//! transition table of `domain::claim` decides, with the refund priced by `domain::refund` in
//! the same transaction, under the order's lock.
//!
//! Every transition writes the claim, its units' effects and one timeline event in one
//! transaction; a refusal changes nothing.

mod act;
mod convert;
mod fees;
mod load;
mod open;
mod refunding;
mod unpaid;

use entity::claim;
use serde::{Deserialize, Serialize};

use crate::domain::claim::{ClaimAction, HoldReason, Reason, Refusal};
use crate::domain::money::Won;
use crate::error::{ServiceError, UserError, UserErrorCode};

use self::convert::*;
pub use self::{act::*, fees::*, load::*, open::*, refunding::*, unpaid::*};
pub use crate::domain::claim::CollectionMethod;

/// Units of one line to claim.
#[derive(Debug, Clone)]
pub struct OpenItem {
    /// The line.
    pub line_id: i64,
    /// Units.
    pub quantity: i64,
    /// Exchanges: the option to send instead.
    pub replacement_option_id: Option<i64>,
}

/// A request to open a claim.
#[derive(Debug, Clone)]
pub struct OpenRequest {
    /// `RequestCancel`, `SellerCancel`, `RequestReturn` or `RequestExchange`.
    pub action: ClaimAction,
    /// The order.
    pub order_number: String,
    /// The units.
    pub items: Vec<OpenItem>,
    /// Why.
    pub reason: Reason,
    /// The customer's words.
    pub memo: Option<String>,
    /// How the goods come back (returns and exchanges).
    pub collection_method: CollectionMethod,
}

/// The parameters an action on a claim may carry.
#[derive(Debug, Clone, Default)]
pub struct ActRequest {
    /// The claim.
    pub claim_number: String,
    /// Refuse with STALE_VERSION unless the claim is at this version.
    pub expected_version: Option<i32>,
    /// `holdClaim`: why.
    pub hold_reason: Option<HoldReason>,
    /// A note for the timeline (and the hold).
    pub memo: Option<String>,
    /// Courier and tracking number (collection, reshipment, re-delivery).
    pub tracking: Option<(String, String)>,
    /// `completeReturn`: put the goods back in stock (default: not for DEFECTIVE).
    pub restock: Option<bool>,
    /// `approveClaim` of a cancel request: the seller has no stock (seller fault, no restock).
    pub out_of_stock: bool,
    /// `convertClaim` into an exchange: replacement option per line.
    pub replacements: Vec<(i64, i64)>,
    /// `resolveRefundManually`: the outside payment's reference.
    pub reference: Option<String>,
    /// `setRefundAccount`: bank, account number, holder.
    pub refund_account: Option<(String, String, String)>,
    /// `payClaimFee`: the amount paid (exactly the fee due).
    pub fee: Option<Won>,
    /// `payClaimFee`: the card payment's key, or the announced transfer an OPERATOR confirms.
    pub paid_by: FeePaidBy,
}

/// What a claim mutation returns: the claim it touched (for a conversion, the new one).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClaimChanged {
    /// The claim.
    pub claim_id: i64,
    /// The claim's row as the transaction left it, when the service has it (saves the
    /// payload a read); never stored with an idempotency key, so a replay reads it afresh.
    #[serde(skip)]
    pub claim: Option<claim::Model>,
}

impl ClaimChanged {
    /// The claim `claim_id`, its row not at hand.
    fn id(claim_id: i64) -> ClaimChanged {
        ClaimChanged {
            claim_id,
            claim: None,
        }
    }
}

fn refusal(r: Refusal) -> ServiceError {
    match r {
        Refusal::InconsistentFacts { .. } => ServiceError::Corrupt(r.to_string()),
        Refusal::NotAllowed { .. } => UserError::general(
            UserErrorCode::ClaimActionNotAllowed,
            strip_code(&r.to_string()),
        )
        .into(),
        Refusal::AlreadyHeld { .. } => {
            UserError::general(UserErrorCode::ClaimAlreadyHeld, strip_code(&r.to_string())).into()
        }
    }
}

/// The domain's messages start with their code; the payload carries the code separately.
fn strip_code(message: &str) -> String {
    message
        .split_once(": ")
        .map_or(message, |(_, rest)| rest)
        .to_owned()
}
