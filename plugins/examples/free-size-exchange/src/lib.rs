//! "Free size exchange" (사이즈 교환 무료배송): a seller that wins customers by paying the
//! shipping whenever they only picked the wrong size or option.
//!
//! For the reason `SIZE_OR_OPTION_CHANGE`, returns and exchanges alike:
//!
//! - the fault stays the customer's — the customer did choose the size — so the 7-day
//!   change-of-mind window and the whole-set exchange rule still apply as for any customer
//!   reason; only the money changes;
//! - the return fee and the exchange fee are 0, and the initial-shipping charge does not apply:
//!   all three are shipping, and shipping is what this seller absorbs;
//! - the coupon clawback still may apply: a coupon's minimum purchase is about what the
//!   customer keeps buying, not about shipping, and the seller is not giving the coupon away;
//! - the customer is told, in Korean, that the seller pays.
//!
//! Every other reason is decided by the built-in default. The module exports `claim_fees` only:
//! it is uploaded for that hook, and the other hooks stay the default.

use oms_policy_sdk::{defaults, export_policy, ClaimFeesInput, ClaimType, FeeDecision, Reason};

/// Shown on a size or option exchange.
const EXCHANGE_MESSAGE: &str = "사이즈·옵션 교환 배송비는 판매자가 부담합니다";
/// Shown on a size or option return.
const RETURN_MESSAGE: &str = "사이즈·옵션 변경 반품 배송비는 판매자가 부담합니다";

/// The default, with the shipping of size and option changes on the seller.
fn decide_fees(input: ClaimFeesInput) -> FeeDecision {
    if input.reason != Reason::SizeOrOptionChange {
        return defaults::claim_fees(input);
    }
    let message = match input.claim_type {
        ClaimType::Exchange => EXCHANGE_MESSAGE,
        // claim_fees never sees a cancel; word it as a return should one ever come.
        ClaimType::Return | ClaimType::Cancel => RETURN_MESSAGE,
    };
    oms_policy_sdk::log("size or option change: the seller pays the shipping");
    FeeDecision {
        return_fee: 0,
        exchange_fee: 0,
        initial_shipping: false,
        message: Some(message.to_owned()),
        // The fault (CUSTOMER) and the coupon clawback stay as the default decides them.
        ..defaults::claim_fees(input)
    }
}

// The hook's export is named `claim_fees`, so the policy function needs another name.
export_policy!(claim_fees => decide_fees);

#[cfg(test)]
mod tests {
    use super::*;
    use oms_policy_sdk::{testing, Fault};

    /// Runs the policy on `tests/inputs/{name}.json` through the binary encoding, as the host
    /// would.
    fn run(name: &str) -> FeeDecision {
        let path = format!("{}/tests/inputs/{name}.json", env!("CARGO_MANIFEST_DIR"));
        testing::run_file(path, decide_fees)
    }

    #[test]
    fn a_size_exchange_costs_the_customer_nothing() {
        let out = run("size-exchange");
        assert_eq!(out.fault, Fault::Customer);
        assert_eq!((out.return_fee, out.exchange_fee), (0, 0));
        assert!(!out.initial_shipping);
        assert!(out.coupon_clawback);
        assert_eq!(out.message.as_deref(), Some(EXCHANGE_MESSAGE));
    }

    #[test]
    fn a_size_return_pays_no_shipping_but_keeps_the_coupon_rule() {
        let out = run("size-return");
        assert_eq!(out.fault, Fault::Customer);
        assert_eq!((out.return_fee, out.exchange_fee), (0, 0));
        assert!(!out.initial_shipping);
        assert!(out.coupon_clawback);
        assert_eq!(out.message.as_deref(), Some(RETURN_MESSAGE));
    }

    #[test]
    fn a_change_of_mind_exchange_pays_the_round_trip_as_by_default() {
        let out = run("change-of-mind-exchange");
        assert_eq!(out.fault, Fault::Customer);
        assert_eq!((out.return_fee, out.exchange_fee), (3000, 6000));
        assert!(out.initial_shipping && out.coupon_clawback);
        assert_eq!(out.message, None);
    }

    #[test]
    fn a_defect_is_the_sellers_fault_as_by_default() {
        let out = run("defective-return");
        assert_eq!(out.fault, Fault::Seller);
        assert_eq!(out.exchange_fee, 0);
        assert_eq!(out.message, None);
    }

    /// Every input file, decided by this policy, differs from the default only for size and
    /// option changes.
    #[test]
    fn only_size_and_option_changes_differ_from_the_default() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/inputs");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let input: ClaimFeesInput = serde_json::from_str(&text).unwrap();
            let ours = testing::run_json(&text, decide_fees);
            let default = testing::run_json(&text, defaults::claim_fees);
            let size_change = input.reason == Reason::SizeOrOptionChange;
            assert_eq!(ours != default, size_change, "{}", path.display());
            seen += 1;
        }
        assert!(seen >= 4);
    }
}
