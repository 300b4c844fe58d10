//! Seller policy plugins as the API shows them, and the policy decision kept on a claim.

use async_graphql::{Enum, Json, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use entity::plugin_failure;
use serde::Deserialize;

use crate::domain::policy::PolicyHook as DomainHook;
use crate::graphql::ids::{to_id, Kind};
use crate::plugin::FailureReason;
use crate::service::plugins::{CheckReport, DryRun, PluginState as DomainState, PluginView};

/// A hook of the plugin contract: what a plugin decides.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum PolicyHook {
    /// Fault and fees of a return or exchange (배송비 부담).
    ClaimFees,
    /// Whether a (partial) exchange may go ahead (부분 교환).
    ExchangeRules,
    /// Whether a claim may still be opened.
    ClaimWindow,
}

impl From<PolicyHook> for DomainHook {
    fn from(h: PolicyHook) -> DomainHook {
        match h {
            PolicyHook::ClaimFees => DomainHook::ClaimFees,
            PolicyHook::ExchangeRules => DomainHook::ExchangeRules,
            PolicyHook::ClaimWindow => DomainHook::ClaimWindow,
        }
    }
}

impl From<DomainHook> for PolicyHook {
    fn from(h: DomainHook) -> PolicyHook {
        match h {
            DomainHook::ClaimFees => PolicyHook::ClaimFees,
            DomainHook::ExchangeRules => PolicyHook::ExchangeRules,
            DomainHook::ClaimWindow => PolicyHook::ClaimWindow,
        }
    }
}

/// Where a plugin stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum PluginState {
    /// Uploaded; not the seller's policy.
    Inactive,
    /// The seller's policy for its hook: claims that start now use it.
    Active,
    /// Activated, but switched off by the circuit breaker after failing repeatedly: the
    /// built-in default decides until the plugin is activated again.
    SwitchedOff,
}

/// Why a plugin evaluation failed (the built-in default decided instead).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::plugin::FailureReason")]
pub enum PluginFailureReason {
    /// The plugin trapped (`unreachable`, an out-of-bounds access, a panic).
    Trap,
    /// It used up its fuel (instruction budget).
    OutOfFuel,
    /// It ran past the wall-clock deadline.
    Deadline,
    /// It asked for more memory than the cap and then failed.
    MemoryLimit,
    /// It overflowed its call stack.
    StackOverflow,
    /// Its output breaks the contract.
    BadOutput,
    /// Its output is over the output cap.
    OutputTooLarge,
    /// The input was over the input cap; the plugin was not called.
    InputTooLarge,
    /// It reports another contract version.
    WrongContract,
    /// It could not be loaded or instantiated.
    Unavailable,
}

/// A seller's policy plugin: one uploaded version of a module for one hook.
pub struct Plugin(pub PluginView);

#[Object]
impl Plugin {
    /// Global ID (`gid://oms/Plugin/N`).
    async fn id(&self) -> ID {
        to_id(Kind::Plugin, self.0.row.id)
    }

    /// The seller whose policy it is.
    async fn seller_id(&self) -> ID {
        to_id(Kind::Seller, self.0.row.seller_id)
    }

    /// The hook it decides.
    async fn hook(&self) -> Option<PolicyHook> {
        DomainHook::parse(&self.0.row.hook).map(PolicyHook::from)
    }

    /// Its version among the seller's uploads for the hook (1, 2, ...).
    async fn version(&self) -> i32 {
        self.0.row.version
    }

    /// SHA-256 of the module's bytes, hex: what a claim's policy decision names.
    async fn sha256(&self) -> &str {
        &self.0.row.sha256
    }

    /// Size of the module in bytes.
    async fn size_bytes(&self) -> i64 {
        self.0.row.size_bytes
    }

    /// Who uploaded it (`SELLER:7`, `OPERATOR`).
    async fn uploaded_by(&self) -> &str {
        &self.0.row.uploaded_by
    }

    /// When it was uploaded.
    async fn uploaded_at(&self) -> DateTime<Utc> {
        self.0.row.uploaded_at
    }

    /// Fuel it used at upload: the most of its evaluations on the sample inputs.
    async fn fuel_used_at_upload(&self) -> i32 {
        self.0.row.fuel_used_at_upload
    }

    /// Whether it is the seller's policy now, or switched off.
    async fn state(&self) -> PluginState {
        match self.0.state {
            DomainState::Inactive => PluginState::Inactive,
            DomainState::Active => PluginState::Active,
            DomainState::SwitchedOff => PluginState::SwitchedOff,
        }
    }

    /// Failed evaluations in a row since its last success; at 5 the circuit breaker switches
    /// it off.
    async fn consecutive_failures(&self) -> i32 {
        self.0.row.consecutive_failures
    }

    /// When the circuit breaker switched it off (null while it works).
    async fn switched_off_at(&self) -> Option<DateTime<Utc>> {
        self.0.row.switched_off_at
    }
}

/// A failed plugin evaluation: the built-in default decided the hook instead.
pub struct PluginFailure(pub plugin_failure::Model);

#[Object]
impl PluginFailure {
    /// Global ID.
    async fn id(&self) -> ID {
        to_id(Kind::PluginFailure, self.0.id)
    }

    /// The plugin that failed.
    async fn plugin_id(&self) -> ID {
        to_id(Kind::Plugin, self.0.plugin_id)
    }

    /// Its seller.
    async fn seller_id(&self) -> ID {
        to_id(Kind::Seller, self.0.seller_id)
    }

    /// The hook it was evaluating.
    async fn hook(&self) -> Option<PolicyHook> {
        DomainHook::parse(&self.0.hook).map(PolicyHook::from)
    }

    /// The claim it was evaluated for (`Claim.id`).
    async fn claim_id(&self) -> Option<ID> {
        self.0.claim_id.map(|c| to_id(Kind::Claim, c))
    }

    /// Why it failed.
    async fn reason(&self) -> Option<PluginFailureReason> {
        FailureReason::parse(&self.0.reason).map(Into::into)
    }

    /// What happened, for the seller's developer.
    async fn message(&self) -> &str {
        &self.0.message
    }

    /// Fuel it used before it failed.
    async fn fuel_used(&self) -> i64 {
        self.0.fuel_used
    }

    /// When.
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
}

/// A failure of an evaluation, as a dry run or a claim's decision shows it.
#[derive(SimpleObject, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluationFailure {
    /// Why.
    #[serde(deserialize_with = "reason")]
    pub reason: PluginFailureReason,
    /// What happened.
    pub message: String,
    /// Fuel used before it failed.
    pub fuel_used: u64,
}

fn reason<'de, D: serde::Deserializer<'de>>(d: D) -> Result<PluginFailureReason, D::Error> {
    let s = String::deserialize(d)?;
    FailureReason::parse(&s)
        .map(Into::into)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown failure reason {s}")))
}

/// An evaluation that changed nothing: a dry run's, or one of the upload check's samples.
#[derive(SimpleObject)]
pub struct PluginEvaluation {
    /// The input document it was evaluated on: a sample's (`checkPlugin`); null for a dry
    /// run, whose input you sent.
    pub input: Option<Json<serde_json::Value>>,
    /// The output document (JSON, field names as in `plugins/README.md`), when it succeeded.
    pub output: Option<Json<serde_json::Value>>,
    /// Why it failed, otherwise (a claim would have fallen back to the default).
    pub failure: Option<EvaluationFailure>,
    /// Fuel (instructions) used.
    pub fuel_used: u64,
    /// Wall-clock time of the evaluation in microseconds (instantiation included).
    pub micros: u64,
    /// The plugin's log (`oms.log`), at most 1 KiB.
    pub log: String,
}

impl From<DryRun> for PluginEvaluation {
    fn from(d: DryRun) -> PluginEvaluation {
        PluginEvaluation {
            input: None,
            output: d.output.map(Json),
            failure: d.failure.map(|f| EvaluationFailure {
                reason: f.reason.into(),
                message: f.message,
                fuel_used: f.fuel_used,
            }),
            fuel_used: d.fuel_used,
            micros: u64::try_from(d.elapsed.as_micros()).unwrap_or(u64::MAX),
            log: d.log,
        }
    }
}

/// The upload check's report (`checkPlugin`): nothing was stored.
#[derive(SimpleObject)]
pub struct PluginCheck {
    /// The module's SHA-256, hex (what `uploadPlugin` would record).
    pub sha256: String,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// The evaluation of each of the hook's sample inputs, with the input (every one must
    /// succeed for an upload to be accepted).
    pub samples: Vec<PluginEvaluation>,
}

impl From<CheckReport> for PluginCheck {
    fn from(r: CheckReport) -> PluginCheck {
        PluginCheck {
            sha256: r.sha256,
            size_bytes: u64::try_from(r.size_bytes).unwrap_or(u64::MAX),
            samples: r
                .samples
                .into_iter()
                .map(|(input, run)| PluginEvaluation {
                    input: Some(Json(input)),
                    ..run.into()
                })
                .collect(),
        }
    }
}

/// Which policy decided a hook.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PolicySource {
    /// The built-in default (no plugin active, or the plugin failed: see `fallback`).
    Default,
    /// The seller's plugin.
    Plugin,
    /// Fixed by the rules, not a policy (a cancel's fault, `money.md`).
    Fixed,
}

/// The plugin version a decision names.
#[derive(SimpleObject, Clone, Deserialize)]
pub struct PluginRef {
    /// The plugin (`Plugin.id` is `gid://oms/Plugin/<id>`).
    #[serde(deserialize_with = "plugin_id")]
    pub id: ID,
    /// Its version.
    pub version: i32,
    /// SHA-256 of its module.
    pub sha256: String,
}

fn plugin_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<ID, D::Error> {
    Ok(to_id(Kind::Plugin, i64::deserialize(d)?))
}

/// What decided one hook of a claim, and what it said.
#[derive(SimpleObject, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookDecision {
    /// The policy whose output stands.
    pub policy: PolicySource,
    /// The seller's active plugin, when one was asked (also when it failed).
    pub plugin: Option<PluginRef>,
    /// The output that stands (JSON, as in `plugins/README.md`).
    pub output: Json<serde_json::Value>,
    /// Fuel the plugin used.
    pub fuel_used: Option<u64>,
    /// Why the plugin's output was not used (the default decided instead).
    pub fallback: Option<EvaluationFailure>,
}

/// Which policies decided a claim and what they said, kept so the claim can be explained
/// after the plugin changed.
#[derive(SimpleObject, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PolicyDecision {
    /// Fault and fees (`claim_fees`).
    pub claim_fees: Option<HookDecision>,
    /// The claim window (`claim_window`; not asked for conversions, which keep the original's).
    pub claim_window: Option<HookDecision>,
    /// The partial-exchange rules (`exchange_rules`; exchanges only).
    pub exchange_rules: Option<HookDecision>,
}
