//! The domain's values as the entities store them (codes in TEXT columns), read back in one
//! place. Each column that holds a code has one accessor here, named after the column
//! (`claim.status()`, `part.method()`, ...), so no service or resolver parses a stored string
//! itself, and a code this build does not know is reported the same way everywhere: as an
//! [`UnknownName`], which the services turn into an internal "stored data is inconsistent"
//! error.
//!
//! Why not typed columns (`DeriveActiveEnum`): the vocabulary lives in the domain, which must
//! not depend on the database, and the `entity` crate cannot name the domain's types without
//! the domain moving below it. The columns stay TEXT, so analytics SQL reads them unchanged.

use entity::{claim, claim_event, order, order_line, refund_part, tender};

use crate::domain::actor::Role;
use crate::domain::claim::{
    role_code, ClaimAction, ClaimStatus, ClaimType, CollectionMethod, Fault, HoldReason, HoldState,
    Reason, RefundStatus, ROLES,
};
use crate::domain::order::{LineStatus, PaymentMethod, TenderMethod, TenderStatus, UnknownName};

/// The value stored as `value`, or which kind of code was not understood.
fn code<T>(
    kind: &'static str,
    value: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, UnknownName> {
    parse(value).ok_or_else(|| UnknownName {
        kind,
        value: value.to_owned(),
    })
}

/// The role stored under its code ([`role_code`]'s inverse).
pub fn role(value: &str) -> Result<Role, UnknownName> {
    code("role", value, |v| {
        ROLES.into_iter().find(|r| role_code(*r) == v)
    })
}

/// A claim's stored codes.
pub trait StoredClaim {
    /// Cancel, return or exchange.
    fn claim_type(&self) -> Result<ClaimType, UnknownName>;
    /// Where it stands.
    fn status(&self) -> Result<ClaimStatus, UnknownName>;
    /// Why it was made.
    fn reason(&self) -> Result<Reason, UnknownName>;
    /// Who is at fault.
    fn fault(&self) -> Result<Fault, UnknownName>;
    /// Its hold, with reason and the role that placed it.
    fn hold(&self) -> Result<HoldState, UnknownName>;
    /// In `*_REJECT_PENDING`: the status before the seller's rejection.
    fn rejected_from(&self) -> Result<Option<ClaimStatus>, UnknownName>;
    /// How the goods come back.
    fn collection_method(&self) -> Result<CollectionMethod, UnknownName>;
}

impl StoredClaim for claim::Model {
    fn claim_type(&self) -> Result<ClaimType, UnknownName> {
        code("claim type", &self.claim_type, ClaimType::parse)
    }

    fn status(&self) -> Result<ClaimStatus, UnknownName> {
        code("claim status", &self.status, ClaimStatus::parse)
    }

    fn reason(&self) -> Result<Reason, UnknownName> {
        code("reason", &self.reason, Reason::parse)
    }

    fn fault(&self) -> Result<Fault, UnknownName> {
        code("fault", &self.fault, Fault::parse)
    }

    fn hold(&self) -> Result<HoldState, UnknownName> {
        // A hold's reason and role are stored with it; older rows may lack them.
        let reason = || {
            let stored = self.hold_reason.as_deref().unwrap_or("OTHER");
            code("hold reason", stored, HoldReason::parse)
        };
        let by = || role(self.hold_by.as_deref().unwrap_or("SYSTEM"));
        Ok(match self.hold_phase.as_str() {
            "HELD" => HoldState::Held {
                reason: reason()?,
                by: by()?,
            },
            "HOLD_PENDING" => HoldState::Pending {
                reason: reason()?,
                by: by()?,
            },
            "NONE" => HoldState::None,
            unknown => {
                return Err(UnknownName {
                    kind: "hold phase",
                    value: unknown.to_owned(),
                })
            }
        })
    }

    fn rejected_from(&self) -> Result<Option<ClaimStatus>, UnknownName> {
        self.rejected_from
            .as_deref()
            .map(|s| code("claim status", s, ClaimStatus::parse))
            .transpose()
    }

    fn collection_method(&self) -> Result<CollectionMethod, UnknownName> {
        code(
            "collection method",
            &self.collection_method,
            CollectionMethod::parse,
        )
    }
}

/// A timeline event's stored codes.
pub trait StoredClaimEvent {
    /// What happened.
    fn action(&self) -> Result<ClaimAction, UnknownName>;
    /// The role that did it.
    fn actor_role(&self) -> Result<Role, UnknownName>;
    /// The status before (none for the event that opened the claim).
    fn status_before(&self) -> Result<Option<ClaimStatus>, UnknownName>;
    /// The status after.
    fn status_after(&self) -> Result<ClaimStatus, UnknownName>;
}

impl StoredClaimEvent for claim_event::Model {
    fn action(&self) -> Result<ClaimAction, UnknownName> {
        code("claim action", &self.action, ClaimAction::parse)
    }

    fn actor_role(&self) -> Result<Role, UnknownName> {
        role(&self.actor_role)
    }

    fn status_before(&self) -> Result<Option<ClaimStatus>, UnknownName> {
        self.from_status
            .as_deref()
            .map(|s| code("claim status", s, ClaimStatus::parse))
            .transpose()
    }

    fn status_after(&self) -> Result<ClaimStatus, UnknownName> {
        code("claim status", &self.to_status, ClaimStatus::parse)
    }
}

/// A refund part's stored codes.
pub trait StoredRefundPart {
    /// Points, or cash back to a card or a bank account.
    fn method(&self) -> Result<TenderMethod, UnknownName>;
    /// Where it stands.
    fn status(&self) -> Result<RefundStatus, UnknownName>;
}

impl StoredRefundPart for refund_part::Model {
    fn method(&self) -> Result<TenderMethod, UnknownName> {
        self.method.parse()
    }

    fn status(&self) -> Result<RefundStatus, UnknownName> {
        code("refund status", &self.status, RefundStatus::parse)
    }
}

/// A tender's stored codes.
pub trait StoredTender {
    /// Card, bank transfer or points.
    fn method(&self) -> Result<TenderMethod, UnknownName>;
    /// Whether its money has arrived.
    fn status(&self) -> Result<TenderStatus, UnknownName>;
}

impl StoredTender for tender::Model {
    fn method(&self) -> Result<TenderMethod, UnknownName> {
        self.method.parse()
    }

    fn status(&self) -> Result<TenderStatus, UnknownName> {
        self.status.parse()
    }
}

/// An order's stored codes.
pub trait StoredOrder {
    /// The least advanced active line's status, or how the order closed.
    fn status(&self) -> Result<LineStatus, UnknownName>;
    /// How its cash part is paid.
    fn payment_method(&self) -> Result<PaymentMethod, UnknownName>;
}

impl StoredOrder for order::Model {
    fn status(&self) -> Result<LineStatus, UnknownName> {
        self.status.parse()
    }

    fn payment_method(&self) -> Result<PaymentMethod, UnknownName> {
        self.payment_method.parse()
    }
}

/// An order line's stored status.
pub trait StoredLine {
    /// Where its active units are.
    fn status(&self) -> Result<LineStatus, UnknownName>;
}

impl StoredLine for order_line::Model {
    fn status(&self) -> Result<LineStatus, UnknownName> {
        self.status.parse()
    }
}
