//! The built-in policy as a plugin: all three hooks, exactly as the server decides without a
//! plugin. The server's tests run this module and the native default over thousands of
//! generated claims and require identical outputs; a seller can start from here.

use oms_policy_sdk::{defaults, export_policy};

export_policy!(
    claim_fees => defaults::claim_fees,
    exchange_rules => defaults::exchange_rules,
    claim_window => defaults::claim_window,
);
