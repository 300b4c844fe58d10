//! The plugin lifecycle (`policies.md`, "Lifecycle"): upload (checked before it is stored),
//! dry run, activate (rollback is activating an older version), deactivate, and the lists a
//! seller and operators read. A SELLER manages its own plugins; an OPERATOR anyone's; another
//! seller's plugin is "not found".

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use entity::plugin_failure;
use oms_policy_sdk::{
    ClaimFeesInput, ClaimWindowInput, Document, ExchangeRulesInput, ExchangeVerdict, FeeDecision,
    WindowVerdict,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::app::App;
use crate::domain::actor::Actor;
use crate::domain::policy::PolicyHook;
use crate::error::{ServiceError, UserError, UserErrorCode};
use crate::plugin::{CompiledPlugin, Failure, PluginError};
use crate::repo;
use crate::repo::plugins::PluginRow;

/// Where a plugin stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginState {
    /// Uploaded, not the seller's policy.
    Inactive,
    /// The seller's policy for its hook.
    Active,
    /// Activated, but switched off by the circuit breaker: the default decides until it is
    /// activated again.
    SwitchedOff,
}

/// A plugin and where it stands.
#[derive(Debug, Clone)]
pub struct PluginView {
    /// The plugin.
    pub row: PluginRow,
    /// Its state.
    pub state: PluginState,
}

/// The outcome of a dry run.
#[derive(Debug, Clone)]
pub struct DryRun {
    /// The output document as JSON, when the evaluation succeeded.
    pub output: Option<Value>,
    /// Why it failed, otherwise.
    pub failure: Option<Failure>,
    /// Fuel used.
    pub fuel_used: u64,
    /// Wall-clock time of the evaluation.
    pub elapsed: Duration,
    /// The plugin's log.
    pub log: String,
}

fn who(actor: Actor) -> String {
    match actor {
        Actor::Seller(id) => format!("SELLER:{id}"),
        Actor::Customer(id) => format!("CUSTOMER:{id}"),
        Actor::Operator => "OPERATOR".into(),
        Actor::Analyst => "ANALYST".into(),
        Actor::System => "SYSTEM".into(),
    }
}

/// The sellers whose plugins `actor` may read: one seller, or all (`None`).
fn readable(actor: Actor) -> Result<Option<i64>, ServiceError> {
    match actor {
        Actor::Seller(id) => Ok(Some(id)),
        Actor::Operator | Actor::Analyst => Ok(None),
        Actor::Customer(_) | Actor::System => Err(ServiceError::Forbidden(
            "plugins are visible to their seller, operators and analysts".into(),
        )),
    }
}

/// A plugin `actor` may manage, or "not found".
async fn managed_plugin(app: &App, actor: Actor, id: i64) -> Result<PluginRow, ServiceError> {
    let row = repo::plugins::by_id(app.db.conn(), id).await?;
    match (actor, row) {
        (Actor::Operator, Some(p)) => Ok(p),
        (Actor::Seller(own), Some(p)) if p.seller_id == own => Ok(p),
        (Actor::Seller(_) | Actor::Operator, _) => {
            Err(UserError::not_found(&["pluginId"], "plugin").into())
        }
        (Actor::Customer(_) | Actor::Analyst | Actor::System, _) => Err(ServiceError::Forbidden(
            "plugins are managed by their seller or an operator".into(),
        )),
    }
}

fn refusal(e: PluginError) -> UserError {
    let code = match &e {
        PluginError::TooLarge { .. } => UserErrorCode::PluginTooLarge,
        PluginError::Invalid(_) => UserErrorCode::PluginInvalid,
        PluginError::UnsupportedContract(_) => UserErrorCode::PluginUnsupportedContract,
        PluginError::SmokeFailed(_) => UserErrorCode::PluginSmokeFailed,
    };
    UserError::new(code, &["wasmBase64"], e.to_string())
}

/// Checks and stores a module as the next version of a seller's hook. Nothing is stored when
/// the check fails.
pub async fn upload(
    app: &App,
    actor: Actor,
    seller_id: Option<i64>,
    hook: PolicyHook,
    wasm: Vec<u8>,
) -> Result<PluginView, ServiceError> {
    let seller_id = super::access::managed_seller(app, actor, seller_id, "plugins").await?;
    let host = app.plugins.clone();
    let (checked, wasm) = tokio::task::spawn_blocking(move || {
        let checked = host.check(&wasm, hook);
        (checked, wasm)
    })
    .await
    .map_err(|e| ServiceError::Corrupt(format!("the plugin check did not finish: {e}")))?;
    let (compiled, stats) = checked.map_err(refusal)?;
    let txn = app.db.write().await?;
    let id = repo::plugins::insert(
        &*txn,
        repo::plugins::NewPlugin {
            seller_id,
            hook: hook.as_str(),
            wasm: &wasm,
            sha256: compiled.sha256(),
            uploaded_by: &who(actor),
            fuel_used: stats.fuel_used,
            now: app.clock.now(),
        },
    )
    .await?;
    txn.commit().await?;
    let row = repo::plugins::by_id(app.db.conn(), id)
        .await?
        .ok_or_else(|| ServiceError::Corrupt("the uploaded plugin vanished".into()))?;
    Ok(PluginView {
        row,
        state: PluginState::Inactive,
    })
}

/// Makes a plugin its seller's policy for its hook (any version: activating an older one is
/// the rollback) and closes its circuit breaker. Claims that start after this commits use it,
/// on every replica.
pub async fn activate(app: &App, actor: Actor, id: i64) -> Result<PluginView, ServiceError> {
    let p = managed_plugin(app, actor, id).await?;
    let txn = app.db.write().await?;
    repo::plugins::activate(&*txn, &p, &who(actor), app.clock.now()).await?;
    txn.commit().await?;
    let row = repo::plugins::by_id(app.db.conn(), id)
        .await?
        .ok_or_else(|| ServiceError::Corrupt("the plugin vanished".into()))?;
    Ok(PluginView {
        row,
        state: PluginState::Active,
    })
}

/// Returns a seller's hook to the built-in default; the plugin that was active, if any.
pub async fn deactivate(
    app: &App,
    actor: Actor,
    seller_id: Option<i64>,
    hook: PolicyHook,
) -> Result<Option<PluginView>, ServiceError> {
    let seller_id = super::access::managed_seller(app, actor, seller_id, "plugins").await?;
    let txn = app.db.write().await?;
    let was = repo::plugins::deactivate(&*txn, seller_id, hook.as_str()).await?;
    txn.commit().await?;
    let Some(id) = was else {
        return Ok(None);
    };
    Ok(repo::plugins::by_id(app.db.conn(), id)
        .await?
        .map(|row| PluginView {
            row,
            state: PluginState::Inactive,
        }))
}

/// Plugins `actor` may read, newest first, with their states.
pub async fn list(
    app: &App,
    actor: Actor,
    seller_id: Option<i64>,
    hook: Option<PolicyHook>,
    first: u64,
) -> Result<Vec<PluginView>, ServiceError> {
    let scope = match (readable(actor)?, seller_id) {
        (Some(own), Some(s)) if s != own => return Ok(Vec::new()),
        (Some(own), _) => Some(own),
        (None, s) => s,
    };
    let db = app.db.conn();
    let rows = repo::plugins::list(db, scope, hook.map(PolicyHook::as_str), first).await?;
    let sellers: Vec<i64> = rows
        .iter()
        .map(|r| r.seller_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let active: HashSet<i64> = repo::plugins::activations(db, Some(&sellers))
        .await?
        .into_iter()
        .map(|a| a.plugin_id)
        .collect();
    Ok(rows
        .into_iter()
        .map(|row| {
            let state = match (active.contains(&row.id), row.switched_off_at) {
                (false, _) => PluginState::Inactive,
                (true, None) => PluginState::Active,
                (true, Some(_)) => PluginState::SwitchedOff,
            };
            PluginView { row, state }
        })
        .collect())
}

/// Failed evaluations `actor` may read, newest first.
pub async fn failures(
    app: &App,
    actor: Actor,
    plugin_id: Option<i64>,
    first: u64,
) -> Result<Vec<plugin_failure::Model>, ServiceError> {
    let scope = readable(actor)?;
    Ok(repo::plugins::failures(app.db.conn(), scope, plugin_id, first).await?)
}

/// Evaluates a plugin on a JSON input (the hook's input document, as in `plugins/README.md`)
/// without changing anything.
pub async fn dry_run(
    app: &App,
    actor: Actor,
    id: i64,
    input: Value,
) -> Result<DryRun, ServiceError> {
    let p = managed_plugin(app, actor, id).await?;
    let hook = PolicyHook::parse(&p.hook)
        .ok_or_else(|| ServiceError::Corrupt(format!("unknown hook {}", p.hook)))?;
    let compiled = match app.plugins.cached(&p.sha256) {
        Some(c) => c,
        None => {
            let bytes = repo::plugins::wasm_of(app.db.conn(), p.id)
                .await?
                .unwrap_or_default();
            let host = app.plugins.clone();
            let sha = p.sha256.clone();
            tokio::task::spawn_blocking(move || host.load(&sha, || bytes))
                .await
                .map_err(|e| ServiceError::Corrupt(e.to_string()))?
                .map_err(|f| ServiceError::Corrupt(f.to_string()))?
        }
    };
    match hook {
        PolicyHook::ClaimFees => {
            evaluate::<ClaimFeesInput, FeeDecision>(app, compiled, hook, input).await
        }
        PolicyHook::ExchangeRules => {
            evaluate::<ExchangeRulesInput, ExchangeVerdict>(app, compiled, hook, input).await
        }
        PolicyHook::ClaimWindow => {
            evaluate::<ClaimWindowInput, WindowVerdict>(app, compiled, hook, input).await
        }
    }
}

async fn evaluate<I, O>(
    app: &App,
    compiled: Arc<CompiledPlugin>,
    hook: PolicyHook,
    input: Value,
) -> Result<DryRun, ServiceError>
where
    I: Document + DeserializeOwned + Send + 'static,
    O: Document + Serialize + Send + 'static,
{
    let input: I = serde_json::from_value(input).map_err(|e| {
        UserError::new(
            UserErrorCode::InvalidPluginInput,
            &["input"],
            format!(
                "the input is not a {} input document: {e}",
                hook.export_name()
            ),
        )
    })?;
    let (outcome, stats) = app
        .plugins
        .evaluate_blocking::<I, O>(compiled, hook, input)
        .await;
    let (output, failure) = match outcome {
        Ok(o) => (serde_json::to_value(o).ok(), None),
        Err(f) => (None, Some(f)),
    };
    Ok(DryRun {
        output,
        failure,
        fuel_used: stats.fuel_used,
        elapsed: stats.elapsed,
        log: stats.log,
    })
}
