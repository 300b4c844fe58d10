//! The OMS seller-policy contract, version 1, for plugin authors and for the host.
//!
//! A policy plugin is a WebAssembly module that exports one or more *hooks* — `claim_fees`,
//! `exchange_rules`, `claim_window` — each a pure function from one input document to one
//! output document. The documents are little-endian binary records laid out in
//! `plugins/contract/oms_policy_v1.h` and `plugins/README.md`; this crate is their Rust form:
//!
//! - the documents as plain structs ([`ClaimFeesInput`], [`FeeDecision`], ...);
//! - their encoding ([`Document::encode`], [`Document::decode`]), used by the server to write
//!   inputs and read outputs, and by plugins (through [`export_policy!`]) the other way round;
//! - [`export_policy!`], which exports the hooks, `oms_alloc` and `oms_contract_version`;
//! - [`log`], the one thing the host lets a plugin call;
//! - with the `json` feature, [`testing`]: run a hook on a JSON input file in a unit test.
//!
//! ```
//! use oms_policy_sdk::*;
//!
//! /// Size changes are on the house; everything else is the customer's fault.
//! fn decide_fees(input: ClaimFeesInput) -> FeeDecision {
//!     let free = input.reason == Reason::SizeOrOptionChange;
//!     FeeDecision {
//!         fault: if free { Fault::Seller } else { Fault::Customer },
//!         return_fee: if free { 0 } else { input.return_fee },
//!         initial_shipping: !free,
//!         coupon_clawback: !free,
//!         exchange_fee: if free { 0 } else { 2 * input.return_fee },
//!         message: None,
//!     }
//! }
//! // The export is named `claim_fees`; the policy function needs a name of its own.
//! export_policy!(claim_fees => decide_fees);
//! ```
#![deny(missing_docs)]

mod codec;
pub mod defaults;
mod types;

#[cfg(feature = "json")]
pub mod testing;

#[doc(hidden)]
pub mod guest;

pub use codec::{DecodeError, Document};
pub use types::*;

/// The contract version this crate speaks. A module reports it from `oms_contract_version`;
/// the server refuses modules built for a version it does not accept.
pub const CONTRACT_VERSION: u32 = 1;

/// An absent timestamp in a document (`i64::MIN`).
pub const ABSENT: i64 = i64::MIN;

/// The hooks of the contract, by export name.
pub const HOOKS: [&str; 3] = ["claim_fees", "exchange_rules", "claim_window"];

/// Writes a line to the evaluation's log (the host keeps the first 1 KiB of each evaluation;
/// `dryRunPlugin` shows it). Outside WebAssembly it prints to standard error.
pub fn log(message: &str) {
    guest::log(message);
}

/// Exports hooks of the contract from a plugin crate (`crate-type = ["cdylib"]`), plus the
/// `oms_contract_version` and `oms_alloc` functions every plugin must export.
///
/// ```
/// use oms_policy_sdk::{defaults, export_policy};
/// export_policy!(claim_fees => defaults::claim_fees, exchange_rules => defaults::exchange_rules);
/// ```
///
/// Each function takes the hook's input document by value and returns its output document.
#[macro_export]
macro_rules! export_policy {
    ($($hook:ident => $function:path),+ $(,)?) => {
        // In an anonymous scope, so the plugin's own functions may share the hooks' names.
        const _: () = {
            /// The contract version this plugin was built for.
            #[no_mangle]
            pub extern "C" fn oms_contract_version() -> i32 {
                $crate::CONTRACT_VERSION as i32
            }

            /// Reserves `len` bytes for the host to write an input document into.
            #[no_mangle]
            pub extern "C" fn oms_alloc(len: i32) -> i32 {
                $crate::guest::alloc(len)
            }

            $( $crate::__export_hook!($hook, $function); )+
        };
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __export_hook {
    (claim_fees, $function:path) => {
        /// The `claim_fees` hook.
        #[no_mangle]
        pub extern "C" fn claim_fees(ptr: i32, len: i32) -> i64 {
            $crate::guest::evaluate::<$crate::ClaimFeesInput, $crate::FeeDecision>(
                ptr, len, $function,
            )
        }
    };
    (exchange_rules, $function:path) => {
        /// The `exchange_rules` hook.
        #[no_mangle]
        pub extern "C" fn exchange_rules(ptr: i32, len: i32) -> i64 {
            $crate::guest::evaluate::<$crate::ExchangeRulesInput, $crate::ExchangeVerdict>(
                ptr, len, $function,
            )
        }
    };
    (claim_window, $function:path) => {
        /// The `claim_window` hook.
        #[no_mangle]
        pub extern "C" fn claim_window(ptr: i32, len: i32) -> i64 {
            $crate::guest::evaluate::<$crate::ClaimWindowInput, $crate::WindowVerdict>(
                ptr, len, $function,
            )
        }
    };
}
