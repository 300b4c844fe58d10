//! `oms plugin check` and `oms plugin run`: the upload check and a dry run on a partner's own
//! machine, with the server's limits and no database; `oms plugin run --default` evaluates the
//! built-in default on the same input, to compare.
//!
//! What these commands print comes partly from the plugin (its log, its output's strings, and
//! names inside the module that a refusal quotes), and it goes to a terminal: every report is
//! passed through [`for_terminal`] so a plugin cannot move the cursor, clear the screen or
//! restyle the text around it.

use std::io::Write;
use std::path::Path;

use oms_policy_sdk::{
    ClaimFeesInput, ClaimWindowInput, Document, ExchangeRulesInput, ExchangeVerdict, FeeDecision,
    WindowVerdict,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{Compiler, PluginHost, PluginLimits};
use crate::domain::policy::{defaults, Occurs, PolicyHook};

/// A host with the server's limits; `oms plugin` gives it a worker of the `oms` binary, so a
/// module that overruns the compile budget is stopped there, as on the server.
fn host(compiler: Compiler) -> Result<PluginHost, String> {
    PluginHost::with_compiler(PluginLimits::default(), compiler)
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Runs the upload check on a module file; a report on success, the refusal otherwise (both
/// safe for a terminal).
pub fn check_file(path: &Path, hook: PolicyHook, compiler: Compiler) -> Result<String, String> {
    check_report(path, hook, compiler)
        .map(|r| for_terminal(&r))
        .map_err(|e| for_terminal(&e))
}

fn check_report(path: &Path, hook: PolicyHook, compiler: Compiler) -> Result<String, String> {
    let bytes = read(path)?;
    let host = host(compiler)?;
    let checked = host.check(&bytes, hook).map_err(|e| e.to_string())?;
    let mut report = format!(
        "ok: {} accepts it as a {} plugin (contract version {})\n\
         size: {} bytes (limit {})\nsha256: {}",
        path.display(),
        hook.export_name(),
        oms_policy_sdk::CONTRACT_VERSION,
        bytes.len(),
        host.limits().module_bytes,
        checked.plugin.sha256(),
    );
    let samples = crate::plugin::samples::inputs(hook);
    for ((about, _), stats) in samples.iter().zip(&checked.samples) {
        report.push_str(&format!(
            "\nsample evaluation ({about}): {} fuel of {}, {} µs",
            stats.fuel_used,
            host.limits().fuel,
            stats.elapsed.as_micros(),
        ));
        report.push_str(&log_section(&stats.log));
    }
    Ok(report)
}

/// Checks a module, then evaluates `hook` on the JSON input file and reports the output
/// document as JSON with the fuel and time it took (both results safe for a terminal).
pub fn run_file(
    path: &Path,
    hook: PolicyHook,
    input: &Path,
    compiler: Compiler,
) -> Result<String, String> {
    run_report(path, hook, input, compiler)
        .map(|r| for_terminal(&r))
        .map_err(|e| for_terminal(&e))
}

fn run_report(
    path: &Path,
    hook: PolicyHook,
    input: &Path,
    compiler: Compiler,
) -> Result<String, String> {
    let bytes = read(path)?;
    let json = read_json(input)?;
    let host = host(compiler)?;
    let plugin = host.check(&bytes, hook).map_err(|e| e.to_string())?.plugin;
    match hook {
        PolicyHook::ClaimFees => run::<ClaimFeesInput, FeeDecision>(&host, &plugin, hook, &json),
        PolicyHook::ExchangeRules => {
            run::<ExchangeRulesInput, ExchangeVerdict>(&host, &plugin, hook, &json)
        }
        PolicyHook::ClaimWindow => {
            run::<ClaimWindowInput, WindowVerdict>(&host, &plugin, hook, &json)
        }
    }
}

/// Evaluates the built-in default of `hook` (`defaults`, what the server runs for a seller
/// without an active plugin) on the JSON input file and reports its output document in the
/// same form as [`run_file`], so the two can be compared.
pub fn run_default_file(hook: PolicyHook, input: &Path) -> Result<String, String> {
    run_default(hook, &read_json(input)?)
        .map(|r| for_terminal(&r))
        .map_err(|e| for_terminal(&e))
}

/// [`run_default_file`] on the input document's text.
pub fn run_default(hook: PolicyHook, json: &str) -> Result<String, String> {
    let pretty = match hook {
        PolicyHook::ClaimFees => {
            pretty(&defaults::claim_fees(parse::<ClaimFeesInput>(hook, json)?))?
        }
        PolicyHook::ExchangeRules => pretty(&defaults::exchange_rules(
            parse::<ExchangeRulesInput>(hook, json)?,
        ))?,
        PolicyHook::ClaimWindow => pretty(&defaults::claim_window(parse::<ClaimWindowInput>(
            hook, json,
        )?))?,
    };
    Ok(format!(
        "{pretty}\npolicy: the built-in default (native, no fuel counted)"
    ))
}

fn read_json(input: &Path) -> Result<String, String> {
    String::from_utf8(read(input)?)
        .map_err(|e| format!("{} is not UTF-8 text: {e}", input.display()))
}

/// The input document, refused (as a dry run refuses it) when no claim ever produces it.
fn parse<I: DeserializeOwned + Occurs>(hook: PolicyHook, json: &str) -> Result<I, String> {
    let input: I = serde_json::from_str(json).map_err(|e| {
        format!(
            "the input is not an input document of {}: {e}",
            hook.export_name()
        )
    })?;
    match input.never_occurs() {
        Some(why) => Err(format!(
            "this {} input never occurs on a claim: {why}",
            hook.export_name()
        )),
        None => Ok(input),
    }
}

/// The output document as pretty JSON whose strings are safe on a terminal: `serde_json`
/// escapes C0 controls but writes DEL, C1 and bidi controls as they are; these become JSON
/// escapes (`\u009b`), the same JSON value. Outside strings JSON has none of them, and inside
/// a string a newline is always `\n`, so the document's lines stay as they are.
fn pretty<O: Serialize>(output: &O) -> Result<String, String> {
    let json = serde_json::to_string_pretty(output).map_err(|e| e.to_string())?;
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c != '\n' && unsafe_on_terminal(c) {
            // Every such character lies in the Basic Multilingual Plane: one `\uXXXX`.
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

fn log_section(log: &str) -> String {
    if log.is_empty() {
        String::new()
    } else {
        format!("\nlog:\n{}", log.trim_end())
    }
}

fn run<I: Document + DeserializeOwned + Occurs, O: super::Output + Serialize>(
    host: &PluginHost,
    plugin: &super::CompiledPlugin,
    hook: PolicyHook,
    json: &str,
) -> Result<String, String> {
    let input: I = parse(hook, json)?;
    let (outcome, stats) = host.evaluate::<I, O>(plugin, hook, &input);
    let log = log_section(&stats.log);
    let output = outcome.map_err(|f| format!("the evaluation failed: {f}{log}"))?;
    Ok(format!(
        "{}\nfuel: {} of {}, time: {} µs (instantiation {} µs){log}",
        pretty(&output)?,
        stats.fuel_used,
        host.limits().fuel,
        stats.elapsed.as_micros(),
        stats.instantiate.as_micros()
    ))
}

/// Text a plugin had a hand in, made safe to print on a terminal: every control character
/// but the newline (C0, DEL and C1 — ESC and CSI included, so no cursor movement, screen
/// clearing or colour), and the invisible characters that reorder or break lines (bidi
/// controls, U+2028, U+2029), is shown as its Rust escape (`\u{1b}`). Newlines stay: they
/// separate the lines of a log, one per `oms.log` call. The report's own text contains none
/// of these characters, so escaping the whole report changes only the plugin's part.
pub fn for_terminal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c != '\n' && unsafe_on_terminal(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

fn unsafe_on_terminal(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Writes a report and a newline to `out`. A reader that went away (`oms plugin run ... |
/// head -c 1`) is not an error: the command stops quietly, as a pipeline expects.
pub fn write_report(out: &mut impl Write, report: &str) -> Result<(), String> {
    match writeln!(out, "{report}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write the report: {e}"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// The README's sample claim: a customer's size exchange with a 3,000-won return fee.
    const SIZE_EXCHANGE: &str = r#"{
        "claimType": "EXCHANGE", "reason": "SIZE_OR_OPTION_CHANGE", "collectionMethod": "PICKUP",
        "baseFee": 3000, "freeThreshold": 50000, "shippingFeePaid": 0, "returnFee": 3000,
        "deliveredAt": 1795338000, "now": 1795510800, "memo": "한 치수 큰 것으로 바꿔 주세요",
        "items": [{"lineId": 1, "productId": 101, "optionId": 1001, "unitPrice": 29000,
                   "quantity": 1, "bulky": false, "bundleId": "SET-1"}],
        "earlierClaims": []
    }"#;

    fn output_of(report: &str) -> serde_json::Value {
        let (json, rest) = report.rsplit_once("\n}").expect("a JSON document");
        assert!(
            rest.starts_with("\npolicy: the built-in default"),
            "{report}"
        );
        serde_json::from_str(&format!("{json}\n}}")).expect("valid JSON")
    }

    #[test]
    fn the_default_decides_the_readme_sample_exchange() {
        let report = run_default(PolicyHook::ClaimFees, SIZE_EXCHANGE).unwrap();
        assert_eq!(
            output_of(&report),
            serde_json::json!({
                "fault": "CUSTOMER", "returnFee": 3000, "initialShipping": true,
                "couponClawback": true, "exchangeFee": 6000, "message": null,
            })
        );
        // A seller-fault return: no exchange fee; the flags stay "may apply" (money.md
        // applies neither to a seller's fault).
        let defective = SIZE_EXCHANGE
            .replace("\"EXCHANGE\"", "\"RETURN\"")
            .replace("SIZE_OR_OPTION_CHANGE", "DEFECTIVE");
        let out = output_of(&run_default(PolicyHook::ClaimFees, &defective).unwrap());
        assert_eq!(out["fault"], "SELLER");
        assert_eq!(out["returnFee"], 3000);
        assert_eq!(out["exchangeFee"], 0);
        assert_eq!(out["initialShipping"], true);
    }

    #[test]
    fn the_default_of_the_other_hooks_and_bad_inputs() {
        let window = r#"{"claimType": "RETURN", "reason": "CHANGE_OF_MIND", "fault": "CUSTOMER",
            "shippedAt": 1000, "deliveredAt": 86400, "purchaseConfirmedAt": null,
            "now": 700000}"#;
        let out = output_of(&run_default(PolicyHook::ClaimWindow, window).unwrap());
        assert_eq!(out["allowed"], false);
        assert_eq!(out["code"], "WINDOW_CLOSED");
        let rules = r#"{"reason": "SIZE_OR_OPTION_CHANGE", "fault": "CUSTOMER", "now": 0,
            "orderLines": [{"lineId": 1, "activeQuantity": 1, "bundleId": "S"},
                           {"lineId": 2, "activeQuantity": 1, "bundleId": "S"}],
            "items": [{"item": {"lineId": 1, "productId": 1, "optionId": 1, "unitPrice": 1000,
                                "quantity": 1, "bulky": false, "bundleId": "S"},
                       "replacementOptionId": 2, "replacementPrice": 1000,
                       "replacementStock": 3}],
            "earlierExchanges": []}"#;
        let out = output_of(&run_default(PolicyHook::ExchangeRules, rules).unwrap());
        assert_eq!(out["code"], "BUNDLE_MUST_BE_WHOLE");
        assert_eq!(out["requiredLineIds"], serde_json::json!([2]));
        let refused = run_default(PolicyHook::ExchangeRules, SIZE_EXCHANGE).unwrap_err();
        assert!(
            refused.starts_with("the input is not an input document of exchange_rules"),
            "{refused}"
        );
    }

    #[test]
    fn control_characters_are_escaped_and_newlines_kept() {
        assert_eq!(
            for_terminal("a\u{1b}[2J\u{1b}[H\rb\tc\nline two\u{7}\u{7f}\u{9b}31m\u{202e}x"),
            "a\\u{1b}[2J\\u{1b}[H\\u{d}b\\u{9}c\nline two\\u{7}\\u{7f}\\u{9b}31m\\u{202e}x"
        );
        assert_eq!(for_terminal("배송비 3,000원\nok"), "배송비 3,000원\nok");
        // In an output document they are JSON escapes: the same value, nothing raw.
        let json = pretty(&serde_json::json!({"message": "a\u{1b}[2J\u{9b}H\u{2066}"})).unwrap();
        assert!(!json.chars().any(|c| c.is_control() && c != '\n'), "{json}");
        assert!(json.contains(r"a\u001b[2J\u009bH\u2066"), "{json}");
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["message"], "a\u{1b}[2J\u{9b}H\u{2066}");
    }

    /// A plugin that clears the screen from its log: the report shows the escapes, one log
    /// line per `oms.log` call.
    #[test]
    fn a_plugins_log_and_message_cannot_drive_the_terminal() {
        let module = wat::parse_str(
            r#"(module
              (import "oms" "log" (func $log (param i32 i32)))
              (memory (export "memory") 1)
              (data (i32.const 16) "\1b[2J\1b[Hcleared")      ;; 14 bytes
              (data (i32.const 32) "moved\0d\c2\9bA")         ;; 9 bytes
              ;; A FeeDecision: CUSTOMER, both flags, return fee 3000, no exchange fee, and a
              ;; 5-byte message at offset 32 of the document (plain: the host refuses control
              ;; characters in a plugin's text, `Output`).
              (data (i32.const 256)
                "\01\00\00\00\03\00\00\00\b8\0b\00\00\00\00\00\00\00\00\00\00\00\00\00\00"
                "\20\00\00\00\05\00\00\00ok ok")
              (global $heap (mut i32) (i32.const 1024))
              (func (export "oms_contract_version") (result i32) (i32.const 1))
              (func (export "oms_alloc") (param $len i32) (result i32)
                (global.get $heap))
              (func (export "claim_fees") (param i32 i32) (result i64)
                (call $log (i32.const 16) (i32.const 14))
                (call $log (i32.const 32) (i32.const 9))
                (i64.or (i64.shl (i64.const 256) (i64.const 32)) (i64.const 37))))"#,
        )
        .unwrap();
        let dir = std::env::temp_dir().join(format!("oms-offline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (wasm, input) = (dir.join("clear.wasm"), dir.join("input.json"));
        std::fs::write(&wasm, module).unwrap();
        std::fs::write(&input, SIZE_EXCHANGE).unwrap();

        let run = run_file(&wasm, PolicyHook::ClaimFees, &input, Compiler::InProcess).unwrap();
        let check = check_file(&wasm, PolicyHook::ClaimFees, Compiler::InProcess).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();

        for report in [&run, &check] {
            assert!(
                !report.chars().any(|c| c.is_control() && c != '\n'),
                "{report}"
            );
            assert!(
                report.ends_with("\nlog:\n\\u{1b}[2J\\u{1b}[Hcleared\nmoved\\u{d}\\u{9b}A"),
                "{report}"
            );
        }
        assert!(run.contains(r#""message": "ok ok""#), "{run}");
    }

    struct Closed;

    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_ends_the_report_quietly() {
        assert_eq!(write_report(&mut Closed, "{}"), Ok(()));
        let mut full = [0u8; 2];
        let err = write_report(&mut &mut full[..], "{}").unwrap_err();
        assert!(err.starts_with("cannot write the report"), "{err}");
        let mut out = Vec::new();
        write_report(&mut out, "ok").unwrap();
        assert_eq!(out, b"ok\n");
    }
}
