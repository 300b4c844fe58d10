//! Run a hook on an input file in a plugin's own unit tests (feature `json`).
//!
//! Inputs are JSON with the documents' field names in camelCase and enum values as in the
//! API (`"SIZE_OR_OPTION_CHANGE"`); the same JSON is what `dryRunPlugin` and
//! `oms plugin run` take.
//!
//! ```no_run
//! #[test]
//! fn size_exchanges_are_free() {
//!     let out = oms_policy_sdk::testing::run_file("tests/size-exchange.json", super::decide_fees);
//!     assert_eq!(out.exchange_fee, 0);
//! }
//! ```

use crate::codec::Document;
use serde::de::DeserializeOwned;

/// Reads the JSON input at `path`, passes it through the binary encoding both ways (as the
/// host would), runs `hook` and returns its output after the same round trip. Panics with a
/// readable message when the file is missing or does not parse: this is for tests.
pub fn run_file<I, O>(path: impl AsRef<std::path::Path>, hook: fn(I) -> O) -> O
where
    I: Document + DeserializeOwned,
    O: Document,
{
    let path = path.as_ref();
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    run_json(&text, hook)
}

/// Like [`run_file`], with the JSON input given as text.
pub fn run_json<I, O>(json: &str, hook: fn(I) -> O) -> O
where
    I: Document + DeserializeOwned,
    O: Document,
{
    let input: I = serde_json::from_str(json).unwrap_or_else(|e| panic!("input JSON: {e}"));
    let input = I::decode(&input.encode()).unwrap_or_else(|e| panic!("input encoding: {e}"));
    O::decode(&hook(input).encode()).unwrap_or_else(|e| panic!("output breaks the contract: {e}"))
}
