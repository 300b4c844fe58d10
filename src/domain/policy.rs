//! Seller policies (`policies.md`): the hooks a seller may replace with a plugin —
//! `claim_fees` (who is at fault and what the customer pays), `exchange_rules` (may this
//! partial exchange go ahead) and `claim_window` (may a claim still be opened).
//!
//! The hooks' documents are the plugin contract's own types (`oms-policy-sdk`), so the native
//! default and a plugin decide on exactly the same input; the built-in default is
//! [`defaults`], the same code the `default-policy` example plugin exports. Pure: inputs carry
//! everything a policy may look at, `now` included, so an evaluation can be replayed exactly.

pub use oms_policy_sdk::{
    defaults, ClaimFeesInput, ClaimWindowInput, EarlierClaim, ExchangeItem, ExchangeRulesInput,
    ExchangeVerdict, FeeDecision, Item, OrderLine, WindowVerdict,
};

use oms_policy_sdk as contract;

use super::claim::{ClaimType, Fault, Reason};

/// A hook of the contract: what a plugin is uploaded and activated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PolicyHook {
    /// Fault and fees of a return or exchange (배송비 부담).
    ClaimFees,
    /// Whether a (partial) exchange may go ahead (부분 교환).
    ExchangeRules,
    /// Whether a claim may still be opened.
    ClaimWindow,
}

impl PolicyHook {
    /// Every hook, in the order a claim asks them.
    pub const ALL: [PolicyHook; 3] = [
        PolicyHook::ClaimFees,
        PolicyHook::ClaimWindow,
        PolicyHook::ExchangeRules,
    ];

    /// The stored and API name (`CLAIM_FEES`).
    pub const fn as_str(self) -> &'static str {
        match self {
            PolicyHook::ClaimFees => "CLAIM_FEES",
            PolicyHook::ExchangeRules => "EXCHANGE_RULES",
            PolicyHook::ClaimWindow => "CLAIM_WINDOW",
        }
    }

    /// The function a module exports for it (`claim_fees`).
    pub const fn export_name(self) -> &'static str {
        match self {
            PolicyHook::ClaimFees => "claim_fees",
            PolicyHook::ExchangeRules => "exchange_rules",
            PolicyHook::ClaimWindow => "claim_window",
        }
    }

    /// The hook of a stored name.
    pub fn parse(s: &str) -> Option<PolicyHook> {
        PolicyHook::ALL.into_iter().find(|h| h.as_str() == s)
    }
}

/// A claim type in the contract's terms.
pub const fn claim_type(t: ClaimType) -> contract::ClaimType {
    match t {
        ClaimType::Cancel => contract::ClaimType::Cancel,
        ClaimType::Return => contract::ClaimType::Return,
        ClaimType::Exchange => contract::ClaimType::Exchange,
    }
}

/// A reason in the contract's terms.
pub const fn reason(r: Reason) -> contract::Reason {
    match r {
        Reason::ChangeOfMind => contract::Reason::ChangeOfMind,
        Reason::OrderedByMistake => contract::Reason::OrderedByMistake,
        Reason::SizeOrOptionChange => contract::Reason::SizeOrOptionChange,
        Reason::Defective => contract::Reason::Defective,
        Reason::WrongItemDelivered => contract::Reason::WrongItemDelivered,
        Reason::DeliveryDelayed => contract::Reason::DeliveryDelayed,
        Reason::OutOfStock => contract::Reason::OutOfStock,
        Reason::Other => contract::Reason::Other,
    }
}

/// A fault in the contract's terms.
pub const fn fault(f: Fault) -> contract::Fault {
    match f {
        Fault::Customer => contract::Fault::Customer,
        Fault::Seller => contract::Fault::Seller,
    }
}

/// The claim engine's fault of a policy's decision.
pub const fn fault_from(f: contract::Fault) -> Fault {
    match f {
        contract::Fault::Customer => Fault::Customer,
        contract::Fault::Seller => Fault::Seller,
    }
}

/// An input document a dry run checks against what the server really sends: values the
/// contract can encode but no claim ever produces (`plugins/README.md`, "Inputs that never
/// occur"). A dry run on one of them would test a case that never happens.
pub trait Occurs {
    /// Why this input never reaches a hook, if it does not.
    fn never_occurs(&self) -> Option<&'static str>;
}

/// A return's or exchange's reason: OUT_OF_STOCK is the seller's cancel alone.
fn claimable(claim_type: contract::ClaimType, reason: contract::Reason) -> Option<&'static str> {
    if claim_type == contract::ClaimType::Cancel {
        return Some("claimType is never CANCEL: a cancel's fault is fixed, no policy is asked");
    }
    (reason == contract::Reason::OutOfStock)
        .then_some("reason is never OUT_OF_STOCK: that is the seller's cancel alone")
}

impl Occurs for ClaimFeesInput {
    fn never_occurs(&self) -> Option<&'static str> {
        claimable(self.claim_type, self.reason).or_else(|| {
            if self.items.is_empty() {
                Some("items is never empty: a claim claims at least one line")
            } else if self.items.iter().any(|i| i.quantity == 0) {
                Some("an item's quantity is never 0: a claim claims at least one unit")
            } else {
                None
            }
        })
    }
}

impl Occurs for ExchangeRulesInput {
    fn never_occurs(&self) -> Option<&'static str> {
        claimable(contract::ClaimType::Exchange, self.reason).or_else(|| {
            self.items
                .is_empty()
                .then_some("items is never empty: an exchange exchanges at least one line")
        })
    }
}

impl Occurs for ClaimWindowInput {
    fn never_occurs(&self) -> Option<&'static str> {
        claimable(self.claim_type, self.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_that_never_occur_are_named() {
        use crate::plugin::samples;
        let fees = samples::claim_fees();
        assert_eq!(fees.never_occurs(), None);
        let cancel = ClaimFeesInput {
            claim_type: contract::ClaimType::Cancel,
            ..fees.clone()
        };
        assert!(cancel.never_occurs().is_some_and(|m| m.contains("CANCEL")));
        let out_of_stock = ClaimFeesInput {
            reason: contract::Reason::OutOfStock,
            ..fees.clone()
        };
        assert!(out_of_stock
            .never_occurs()
            .is_some_and(|m| m.contains("OUT_OF_STOCK")));
        let empty = ClaimFeesInput {
            items: Vec::new(),
            ..fees.clone()
        };
        assert!(empty.never_occurs().is_some());
        let mut zero = fees;
        zero.items[0].quantity = 0;
        assert!(zero.never_occurs().is_some());

        let exchange = samples::exchange_rules();
        assert_eq!(exchange.never_occurs(), None);
        let none = ExchangeRulesInput {
            items: Vec::new(),
            ..exchange
        };
        assert!(none.never_occurs().is_some());

        let window = samples::claim_window();
        assert_eq!(window.never_occurs(), None);
        let cancel = ClaimWindowInput {
            claim_type: contract::ClaimType::Cancel,
            ..window
        };
        assert!(cancel.never_occurs().is_some());
        // Every sample the upload check evaluates is an input that occurs.
        for hook in PolicyHook::ALL {
            for (about, sample) in samples::all(hook) {
                let never = match sample {
                    samples::Sample::Fees(i) => i.never_occurs(),
                    samples::Sample::Exchange(i) => i.never_occurs(),
                    samples::Sample::Window(i) => i.never_occurs(),
                };
                assert_eq!(never, None, "{about}");
            }
        }
    }

    #[test]
    fn the_contract_names_values_as_the_engine_does() {
        for r in Reason::ALL {
            assert_eq!(reason(*r).as_str(), r.as_str());
            // The built-in default's fault is the engine's default fault.
            assert_eq!(
                fault_from(defaults::fault_of(reason(*r))),
                r.default_fault()
            );
        }
        for t in ClaimType::ALL {
            assert_eq!(claim_type(*t).as_str(), t.as_str());
        }
        for f in Fault::ALL {
            assert_eq!(fault(f).as_str(), f.as_str());
            assert_eq!(fault_from(fault(f)), f);
        }
        for h in PolicyHook::ALL {
            assert_eq!(PolicyHook::parse(h.as_str()), Some(h));
            assert_eq!(h.export_name().to_uppercase(), h.as_str());
        }
    }
}
