//! `oms plugin check` and `oms plugin run`: the upload check and a dry run on a partner's own
//! machine, with the server's limits and no database.

use std::path::Path;

use oms_policy_sdk::{
    ClaimFeesInput, ClaimWindowInput, Document, ExchangeRulesInput, ExchangeVerdict, FeeDecision,
    WindowVerdict,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{PluginHost, PluginLimits};
use crate::domain::policy::PolicyHook;

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Runs the upload check on a module file; a report on success, the refusal otherwise.
pub fn check_file(path: &Path, hook: PolicyHook) -> Result<String, String> {
    let bytes = read(path)?;
    let host = PluginHost::new(PluginLimits::default())?;
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
        if !stats.log.is_empty() {
            report.push_str(&format!("\nlog:\n{}", stats.log.trim_end()));
        }
    }
    Ok(report)
}

/// Checks a module, then evaluates `hook` on the JSON input file and prints the output
/// document as JSON with the fuel and time it took.
pub fn run_file(path: &Path, hook: PolicyHook, input: &Path) -> Result<String, String> {
    let bytes = read(path)?;
    let json = String::from_utf8(read(input)?).map_err(|e| e.to_string())?;
    let host = PluginHost::new(PluginLimits::default())?;
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

fn run<I: Document + DeserializeOwned, O: super::Output + Serialize>(
    host: &PluginHost,
    plugin: &super::CompiledPlugin,
    hook: PolicyHook,
    json: &str,
) -> Result<String, String> {
    let input: I = serde_json::from_str(json).map_err(|e| {
        format!(
            "the input is not a {} input document: {e}",
            hook.export_name()
        )
    })?;
    let (outcome, stats) = host.evaluate::<I, O>(plugin, hook, &input);
    let log = if stats.log.is_empty() {
        String::new()
    } else {
        format!("\nlog:\n{}", stats.log.trim_end())
    };
    let output = outcome.map_err(|f| format!("the evaluation failed: {f}{log}"))?;
    let pretty = serde_json::to_string_pretty(&output).map_err(|e| e.to_string())?;
    Ok(format!(
        "{pretty}\nfuel: {} of {}, time: {} µs (instantiation {} µs){log}",
        stats.fuel_used,
        host.limits().fuel,
        stats.elapsed.as_micros(),
        stats.instantiate.as_micros()
    ))
}
