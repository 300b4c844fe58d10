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
use crate::domain::policy::{defaults, Occurs, PolicyHook};
use crate::error::{ServiceError, UserError, UserErrorCode};
use crate::plugin::{CompiledPlugin, Failure, FailureReason, Lookup, Output, PluginError};
use crate::repo;
use crate::repo::plugins::PluginRow;
use crate::service::quota::QuotaKind;

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
        PluginError::SmokeFailed { .. } => UserErrorCode::PluginSmokeFailed,
        PluginError::CompileBudget { .. } => UserErrorCode::PluginInvalid,
        PluginError::Busy => UserErrorCode::PluginBusy,
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
    take_quota(app, seller_id, QuotaKind::Compile)?;
    let checked = app
        .plugins
        .check_queued(wasm.clone(), hook)
        .await
        .map_err(refusal)?;
    let txn = app.db.write().await?;
    let id = repo::plugins::insert(
        &*txn,
        repo::plugins::NewPlugin {
            seller_id,
            hook: hook.as_str(),
            wasm: &wasm,
            sha256: checked.plugin.sha256(),
            uploaded_by: &who(actor),
            fuel_used: checked
                .samples
                .iter()
                .map(|s| s.fuel_used)
                .max()
                .unwrap_or(0),
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
    // Compiled before it commits, so this replica's next claim finds it ready.
    compiled(app, p.id, &p.sha256).await.map_err(|f| {
        UserError::new(
            UserErrorCode::PluginInvalid,
            &["pluginId"],
            format!("the plugin cannot be activated: {}", f.message),
        )
    })?;
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

/// What a dry run evaluates.
pub enum DryRunOf {
    /// An uploaded plugin.
    Plugin(i64),
    /// A module that is not stored: it gets the upload check first.
    Module {
        /// The seller it is for (an OPERATOR names it).
        seller_id: Option<i64>,
        /// The hook.
        hook: PolicyHook,
        /// The `.wasm` bytes.
        wasm: Vec<u8>,
    },
    /// The built-in default of a hook, to compare a plugin with.
    Default(PolicyHook),
}

/// The report of [`check`]: what an upload would store, and the evaluations of the samples.
pub struct CheckReport {
    /// The module's SHA-256.
    pub sha256: String,
    /// Its size.
    pub size_bytes: usize,
    /// One evaluation per sample input, with the input.
    pub samples: Vec<(Value, DryRun)>,
}

/// Takes one request of `kind` from the seller's allowance or refuses with `RATE_LIMITED`.
fn take_quota(app: &App, seller_id: i64, kind: QuotaKind) -> Result<(), ServiceError> {
    app.plugin_quota
        .take(seller_id, kind, std::time::Instant::now())
        .map_err(|wait| {
            let (burst, every) = kind.rate();
            UserError::general(
                UserErrorCode::RateLimited,
                format!(
                    "too many {} for seller {seller_id} (at most {burst} at once, then one every \
                     {} ms); try again in {} ms",
                    kind.noun(),
                    every.as_millis(),
                    wait.as_millis().max(1)
                ),
            )
            .into()
        })
}

/// The upload check without storing anything: a partner's module, checked and evaluated on
/// the hook's sample inputs, as `uploadPlugin` would.
pub async fn check(
    app: &App,
    actor: Actor,
    seller_id: Option<i64>,
    hook: PolicyHook,
    wasm: Vec<u8>,
) -> Result<CheckReport, ServiceError> {
    let seller_id = super::access::managed_seller(app, actor, seller_id, "plugins").await?;
    take_quota(app, seller_id, QuotaKind::Compile)?;
    let size_bytes = wasm.len();
    let checked = app
        .plugins
        .check_queued(wasm, hook)
        .await
        .map_err(refusal)?;
    let mut samples = Vec::new();
    for (_, sample) in crate::plugin::samples::all(hook) {
        let input = sample.json();
        let run = evaluate_hook(app, checked.plugin.clone(), hook, input.clone()).await?;
        samples.push((input, run));
    }
    Ok(CheckReport {
        sha256: checked.plugin.sha256().to_owned(),
        size_bytes,
        samples,
    })
}

/// Evaluates a plugin, a module not stored, or the built-in default on a JSON input (the
/// hook's input document, as in `plugins/README.md`) without changing anything. Counted
/// against the seller's allowance of dry runs (and, for raw modules, of checks).
pub async fn dry_run(
    app: &App,
    actor: Actor,
    of: DryRunOf,
    input: Value,
) -> Result<DryRun, ServiceError> {
    match of {
        DryRunOf::Plugin(id) => {
            let p = managed_plugin(app, actor, id).await?;
            take_quota(app, p.seller_id, QuotaKind::Evaluation)?;
            let hook = PolicyHook::parse(&p.hook)
                .ok_or_else(|| ServiceError::Corrupt(format!("unknown hook {}", p.hook)))?;
            match compiled(app, p.id, &p.sha256).await {
                Ok(compiled) => evaluate_hook(app, compiled, hook, input).await,
                // What a claim would see: the module does not load here, the default decides.
                Err(failure) => Ok(DryRun {
                    output: None,
                    failure: Some(failure),
                    fuel_used: 0,
                    elapsed: Duration::ZERO,
                    log: String::new(),
                }),
            }
        }
        DryRunOf::Module {
            seller_id,
            hook,
            wasm,
        } => {
            let seller_id = super::access::managed_seller(app, actor, seller_id, "plugins").await?;
            take_quota(app, seller_id, QuotaKind::Compile)?;
            let checked = app
                .plugins
                .check_queued(wasm, hook)
                .await
                .map_err(refusal)?;
            evaluate_hook(app, checked.plugin, hook, input).await
        }
        DryRunOf::Default(hook) => {
            // Operators share one allowance (seller 0).
            let seller_id = match actor {
                Actor::Seller(id) => id,
                Actor::Operator => 0,
                Actor::Customer(_) | Actor::Analyst | Actor::System => {
                    return Err(ServiceError::Forbidden(
                        "dry runs are for sellers and operators".into(),
                    ))
                }
            };
            take_quota(app, seller_id, QuotaKind::Evaluation)?;
            let started = std::time::Instant::now();
            let output = match hook {
                PolicyHook::ClaimFees => native(hook, input, defaults::claim_fees)?,
                PolicyHook::ExchangeRules => native(hook, input, defaults::exchange_rules)?,
                PolicyHook::ClaimWindow => native(hook, input, defaults::claim_window)?,
            };
            Ok(DryRun {
                output: Some(output),
                failure: None,
                fuel_used: 0,
                elapsed: started.elapsed(),
                log: String::new(),
            })
        }
    }
}

/// The built-in default on a JSON input.
fn native<I: DeserializeOwned + Occurs, O: Serialize>(
    hook: PolicyHook,
    input: Value,
    decide: fn(I) -> O,
) -> Result<Value, ServiceError> {
    let input: I = parse_input(hook, input)?;
    serde_json::to_value(decide(input)).map_err(|e| ServiceError::Corrupt(e.to_string()))
}

/// A dry run's input: the hook's document, and one the server could really send.
fn parse_input<I: DeserializeOwned + Occurs>(
    hook: PolicyHook,
    input: Value,
) -> Result<I, ServiceError> {
    let refused = |message: String| -> ServiceError {
        UserError::new(UserErrorCode::InvalidPluginInput, &["input"], message).into()
    };
    let input: I = serde_json::from_value(input).map_err(|e| {
        refused(format!(
            "the input is not an input document of {}: {e}",
            hook.export_name()
        ))
    })?;
    match input.never_occurs() {
        Some(why) => Err(refused(format!(
            "this {} input never occurs on a claim: {why}",
            hook.export_name()
        ))),
        None => Ok(input),
    }
}

async fn evaluate_hook(
    app: &App,
    compiled: Arc<CompiledPlugin>,
    hook: PolicyHook,
    input: Value,
) -> Result<DryRun, ServiceError> {
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

/// Keeps this process's compiled modules in step with the activations every replica makes:
/// every `interval` (and at once), tells the cache which modules are active and compiles those
/// it lacks, through the compile queue. Claims never wait for this — a claim that finds its
/// module missing compiles it itself before its transaction — but with it they rarely have to.
pub async fn warm_forever(app: App, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = warm(&app).await {
            tracing::warn!("cannot warm the active plugins: {e}");
        }
    }
}

/// One round of [`warm_forever`]; returns how many modules it compiled.
pub async fn warm(app: &App) -> Result<usize, ServiceError> {
    let active = repo::plugins::active_everywhere(app.db.conn()).await?;
    app.plugins
        .set_active(active.iter().map(|p| p.sha256.clone()).collect());
    let mut count = 0;
    for p in active {
        if matches!(app.plugins.lookup(&p.sha256), Lookup::Missing) {
            if let Err(failure) = compiled(app, p.id, &p.sha256).await {
                tracing::warn!(plugin = p.id, %failure, "the module does not load on this replica");
            }
            count += 1;
        }
    }
    Ok(count)
}

/// The module of plugin `plugin_id` compiled in this process, compiling it through the queue
/// if needed. A module that does not compile is remembered by the host; a failure to read it
/// is not (the next attempt reads it again).
pub async fn compiled(
    app: &App,
    plugin_id: i64,
    sha256: &str,
) -> Result<Arc<CompiledPlugin>, Failure> {
    if let Some(c) = app.plugins.cached(sha256) {
        return Ok(c);
    }
    let unavailable = |message: String| Failure {
        reason: FailureReason::Unavailable,
        message,
        fuel_used: 0,
    };
    let bytes = repo::plugins::wasm_of(app.db.conn(), plugin_id)
        .await
        .map_err(|e| unavailable(format!("cannot read the module: {e}")))?
        .ok_or_else(|| unavailable("the module is gone".into()))?;
    app.plugins.load_queued(sha256, bytes).await
}

async fn evaluate<I, O>(
    app: &App,
    compiled: Arc<CompiledPlugin>,
    hook: PolicyHook,
    input: Value,
) -> Result<DryRun, ServiceError>
where
    I: Document + DeserializeOwned + Occurs + Send + 'static,
    O: Output + Serialize + Send + 'static,
{
    let input: I = parse_input(hook, input)?;
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
