//! Asking a seller's policy about a return or exchange: the active plugin of each hook, or the
//! built-in default; a plugin that fails is replaced by the default for that hook, and the
//! failure is recorded with the claim. What decided, and what it said, is kept on the claim.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::{order, order_line};
use oms_policy_sdk::{CollectionMethod as ContractMethod, Document};
use sea_orm::ConnectionTrait;
use serde::Serialize;
use serde_json::{json, Value};

use crate::app::App;
use crate::domain::claim::{ClaimType, CollectionMethod, Fault, Reason};
use crate::domain::money::Won;
use crate::domain::policy::{
    self, defaults, ClaimFeesInput, ClaimWindowInput, EarlierClaim, ExchangeItem,
    ExchangeRulesInput, FeeDecision, Item, OrderLine, PolicyHook,
};
use crate::error::{UserError, UserErrorCode};
use crate::plugin::{EvaluationStats, Failure, Lookup, Output};
use crate::repo;
use crate::repo::plugins::PluginRow;

use crate::error::ServiceError;

/// Failures in a row after which the circuit breaker switches a plugin off.
pub const TRIP_AFTER: i32 = 5;

/// A claimed line, its units and (for an exchange) its replacement option.
pub struct PickedLine<'a> {
    /// The line.
    pub line: &'a order_line::Model,
    /// Units claimed.
    pub quantity: u32,
    /// The replacement option of an exchange.
    pub replacement_option_id: Option<i64>,
}

/// What the policy is asked about.
pub struct PolicyRequest<'a> {
    /// The order.
    pub order: &'a order::Model,
    /// The claim's seller.
    pub seller_id: i64,
    /// RETURN or EXCHANGE.
    pub claim_type: ClaimType,
    /// Why.
    pub reason: Reason,
    /// The customer's words.
    pub memo: Option<&'a str>,
    /// How the goods come back.
    pub method: CollectionMethod,
    /// The claimed lines.
    pub picked: &'a [PickedLine<'a>],
    /// Every line of the order.
    pub lines: &'a [order_line::Model],
    /// Now.
    pub now: DateTime<Utc>,
    /// Ask `claim_window` (a conversion keeps the original's window).
    pub check_window: bool,
}

/// The policy's decision on a claim: fault and fees, the record kept on the claim, and the
/// plugin outcomes to persist once the claim exists.
pub struct PolicyFees {
    /// Fault and fees.
    pub decision: FeeDecision,
    /// `Claim.policyDecision`: per hook, which policy decided and its output.
    pub recorded: Value,
    outcomes: Vec<Outcome>,
}

/// One plugin evaluation's result, to persist with the claim.
struct Outcome {
    plugin: PluginRow,
    failure: Option<Failure>,
}

impl PolicyFees {
    /// A cancel: fault fixed by `money.md`, no policy asked.
    pub fn cancel(fault: Fault) -> PolicyFees {
        PolicyFees {
            decision: FeeDecision {
                fault: policy::fault(fault),
                return_fee: 0,
                initial_shipping: true,
                coupon_clawback: true,
                exchange_fee: 0,
                message: None,
            },
            recorded: json!({"claimFees": {
                "policy": "FIXED",
                "output": {"fault": fault.as_str()},
                "rule": "money.md: a cancel's fault is fixed by its action",
            }}),
            outcomes: Vec::new(),
        }
    }

    /// The fault, in the engine's terms.
    pub fn fault(&self) -> Fault {
        policy::fault_from(self.decision.fault)
    }

    /// Persists the plugins' outcomes for the new claim: failures (and the circuit breaker),
    /// or the end of a run of failures.
    pub async fn record(
        &self,
        app: &App,
        db: &impl ConnectionTrait,
        claim_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        for o in &self.outcomes {
            match &o.failure {
                Some(f) => {
                    let counts = f.counts_against_plugin(app.plugins.limits().fuel);
                    let tripped = repo::plugins::record_failure(
                        db,
                        repo::plugins::NewFailure {
                            plugin_id: o.plugin.id,
                            seller_id: o.plugin.seller_id,
                            hook: &o.plugin.hook,
                            claim_id: Some(claim_id),
                            reason: f.reason.as_str(),
                            message: &f.message,
                            fuel_used: f.fuel_used,
                        },
                        counts.then_some(TRIP_AFTER),
                        now,
                    )
                    .await?;
                    if tripped {
                        app.metrics.plugin_switched_off(&o.plugin.hook);
                        tracing::warn!(
                            plugin = o.plugin.id,
                            seller = o.plugin.seller_id,
                            "plugin switched off after {TRIP_AFTER} failures in a row"
                        );
                    }
                }
                None if o.plugin.consecutive_failures > 0 => {
                    repo::plugins::record_success(db, o.plugin.id).await?;
                }
                None => {}
            }
        }
        Ok(())
    }
}

/// The active, working plugins of one seller by hook.
struct SellerPlugins {
    by_hook: HashMap<PolicyHook, PluginRow>,
}

impl SellerPlugins {
    async fn load(db: &impl ConnectionTrait, seller_id: i64) -> Result<Self, ServiceError> {
        let by_hook = repo::plugins::active_of_seller(db, seller_id)
            .await?
            .into_iter()
            .filter(|p| p.switched_off_at.is_none())
            .filter_map(|p| Some((PolicyHook::parse(&p.hook)?, p)))
            .collect();
        Ok(SellerPlugins { by_hook })
    }
}

/// Runs hooks for one claim: the plugin when one is active, else (or when it fails) `native`.
struct Runner<'a> {
    app: &'a App,
    plugins: SellerPlugins,
    outcomes: Vec<Outcome>,
}

impl Runner<'_> {
    async fn run<I, O>(
        &mut self,
        hook: PolicyHook,
        input: I,
        native: fn(I) -> O,
    ) -> Result<(O, Value), ServiceError>
    where
        I: Document + Clone + Send + 'static,
        O: Output + Serialize + Send + 'static,
    {
        let Some(plugin) = self.plugins.by_hook.get(&hook).cloned() else {
            let output = native(input);
            let record = json!({"policy": "DEFAULT", "output": output});
            return Ok((output, record));
        };
        let (outcome, stats) = self.evaluate(&plugin, hook, input.clone()).await?;
        self.app
            .metrics
            .plugin_evaluated(hook.as_str(), outcome.as_ref().err(), &stats);
        let about = json!({"id": plugin.id, "version": plugin.version, "sha256": plugin.sha256});
        match outcome {
            Ok(output) => {
                let record = json!({
                    "policy": "PLUGIN", "plugin": about, "output": output,
                    "fuelUsed": stats.fuel_used,
                });
                self.outcomes.push(Outcome {
                    plugin,
                    failure: None,
                });
                Ok((output, record))
            }
            Err(failure) => {
                tracing::warn!(plugin = plugin.id, %failure, "plugin failed; the default decides");
                let output = native(input);
                let record = json!({
                    "policy": "DEFAULT", "plugin": about, "output": output,
                    "fallback": {
                        "reason": failure.reason.as_str(),
                        "message": failure.message,
                        "fuelUsed": failure.fuel_used,
                    },
                });
                self.outcomes.push(Outcome {
                    plugin,
                    failure: Some(failure),
                });
                Ok((output, record))
            }
        }
    }

    /// Evaluates the plugin with the module this process has compiled. Never compiles: a
    /// claim runs inside its write transaction, so a module not compiled here yet stops the
    /// claim ([`ServiceError::PolicyNotCompiled`]) for [`compiled_what_was_missing`] to compile
    /// it outside the transaction and run the claim again.
    async fn evaluate<I, O>(
        &self,
        plugin: &PluginRow,
        hook: PolicyHook,
        input: I,
    ) -> Result<(Result<O, Failure>, EvaluationStats), ServiceError>
    where
        I: Document + Send + 'static,
        O: Output + Send + 'static,
    {
        let host = &self.app.plugins;
        match host.lookup(&plugin.sha256) {
            Lookup::Ready(compiled) => Ok(host.evaluate_blocking(compiled, hook, input).await),
            Lookup::Refused(failure) => Ok((Err(failure), EvaluationStats::default())),
            Lookup::Missing => Err(ServiceError::PolicyNotCompiled {
                plugin_id: plugin.id,
                sha256: plugin.sha256.clone(),
            }),
        }
    }
}

/// Whether a claim use case that stopped on `result` should run again: when it stopped
/// because it needed a module this process had not compiled yet, the module is compiled here —
/// through the compile queue, holding no transaction — and the answer is yes. A module that
/// fails to compile is remembered by the host, so the next run falls back to the default for
/// it instead of stopping again; each run compiles at most one module and a claim asks at most
/// three hooks, so a use case runs at most four times (callers bound it with [`MAX_RUNS`]).
pub async fn compiled_what_was_missing<T>(app: &App, result: &Result<T, ServiceError>) -> bool {
    let Err(ServiceError::PolicyNotCompiled { plugin_id, sha256 }) = result else {
        return false;
    };
    if let Err(failure) = super::plugins::compiled(app, *plugin_id, sha256).await {
        tracing::warn!(plugin = plugin_id, %failure, "the module does not load on this replica");
    }
    true
}

/// Runs of a claim use case: once, and once more per hook whose module had to be compiled.
pub const MAX_RUNS: usize = PolicyHook::ALL.len() + 1;

/// Asks the seller's policy about a return or exchange: `claim_fees` (fault and fees),
/// `claim_window` (when asked; a conversion keeps the original's window) and, for exchanges,
/// `exchange_rules`. Refusals are `CLAIM_WINDOW_CLOSED` and `CLAIM_NOT_ALLOWED`.
pub async fn decide(
    app: &App,
    db: &impl ConnectionTrait,
    req: PolicyRequest<'_>,
) -> Result<PolicyFees, ServiceError> {
    let mut runner = Runner {
        app,
        plugins: SellerPlugins::load(db, req.seller_id).await?,
        outcomes: Vec::new(),
    };
    let facts = Facts::load(db, &req).await?;
    let items: Vec<Item> = req.picked.iter().map(|p| facts.item(p)).collect();
    let group = facts.group.as_ref();
    let fees_input = ClaimFeesInput {
        claim_type: policy::claim_type(req.claim_type),
        reason: policy::reason(req.reason),
        collection_method: match req.method {
            CollectionMethod::Pickup => ContractMethod::Pickup,
            CollectionMethod::CustomerShips => ContractMethod::CustomerShips,
        },
        base_fee: group.map_or(0, |g| g.base_fee),
        free_threshold: group.map_or(0, |g| g.free_threshold),
        shipping_fee_paid: group.map_or(0, |g| g.shipping_fee),
        return_fee: group.map_or(0, |g| g.return_fee),
        delivered_at: req
            .picked
            .iter()
            .filter_map(|p| p.line.delivered_at)
            .max()
            .map(|t| t.timestamp()),
        now: req.now.timestamp(),
        memo: req.memo.map(str::to_owned),
        items: items.clone(),
        earlier_claims: facts.earlier.clone(),
    };
    let (decision, fees_record) = runner
        .run(PolicyHook::ClaimFees, fees_input, defaults::claim_fees)
        .await?;
    let mut recorded = json!({"claimFees": fees_record});
    if req.check_window {
        for p in req.picked {
            let input = ClaimWindowInput {
                claim_type: policy::claim_type(req.claim_type),
                reason: policy::reason(req.reason),
                fault: decision.fault,
                shipped_at: p.line.shipped_at.map(|t| t.timestamp()),
                delivered_at: p.line.delivered_at.map(|t| t.timestamp()),
                purchase_confirmed_at: p.line.confirmed_at.map(|t| t.timestamp()),
                now: req.now.timestamp(),
            };
            let (verdict, record) = runner
                .run(PolicyHook::ClaimWindow, input, defaults::claim_window)
                .await?;
            recorded["claimWindow"] = record;
            if !verdict.allowed {
                return Err(UserError::new(
                    UserErrorCode::ClaimWindowClosed,
                    &["reason"],
                    verdict
                        .message
                        .unwrap_or_else(|| "outside the claim window".into()),
                )
                .into());
            }
        }
    }
    if req.claim_type == ClaimType::Exchange {
        let input = ExchangeRulesInput {
            reason: policy::reason(req.reason),
            fault: decision.fault,
            now: req.now.timestamp(),
            order_lines: req
                .lines
                .iter()
                .filter(|l| l.seller_id == req.seller_id)
                .map(|l| OrderLine {
                    line_id: l.id,
                    active_quantity: u32::try_from(
                        l.quantity - l.cancelled_quantity - l.returned_quantity,
                    )
                    .unwrap_or(0),
                    bundle_id: l.bundle_id.clone(),
                })
                .collect(),
            items: req
                .picked
                .iter()
                .zip(items)
                .map(|(p, item)| facts.exchange_item(p, item))
                .collect(),
            earlier_exchanges: facts
                .earlier
                .iter()
                .filter(|e| e.claim_type == oms_policy_sdk::ClaimType::Exchange)
                .filter(|e| req.picked.iter().any(|p| p.line.id == e.line_id))
                .cloned()
                .collect(),
        };
        let (verdict, record) = runner
            .run(PolicyHook::ExchangeRules, input, defaults::exchange_rules)
            .await?;
        recorded["exchangeRules"] = record;
        if !verdict.allowed {
            return Err(UserError::new(
                UserErrorCode::ClaimNotAllowed,
                &["items"],
                format!(
                    "{}: {}",
                    verdict.code.as_deref().unwrap_or("EXCHANGE_NOT_ALLOWED"),
                    verdict
                        .message
                        .as_deref()
                        .unwrap_or("the seller's policy refuses this exchange")
                ),
            )
            .into());
        }
    }
    Ok(PolicyFees {
        decision,
        recorded,
        outcomes: runner.outcomes,
    })
}

/// What the policy's inputs are built from, in three statements: the shipping group, the
/// options (claimed and replacement) with their products, and the order's earlier claims.
struct Facts {
    group: Option<entity::order_shipping_group::Model>,
    options: HashMap<i64, repo::catalog::OptionWithProduct>,
    earlier: Vec<EarlierClaim>,
}

impl Facts {
    async fn load(
        db: &impl ConnectionTrait,
        req: &PolicyRequest<'_>,
    ) -> Result<Facts, ServiceError> {
        let group = repo::orders::groups_of_orders(db, &[req.order.id], Some(req.seller_id))
            .await?
            .into_iter()
            .next();
        let option_ids: Vec<i64> = req
            .picked
            .iter()
            .flat_map(|p| [Some(p.line.option_id), p.replacement_option_id])
            .flatten()
            .collect();
        let options = repo::catalog::options_with_products(db, &option_ids).await?;
        // Only this seller's lines: a plugin never sees another seller's claims on a shared
        // order (`policies.md`).
        let own_lines: HashSet<i64> = req
            .lines
            .iter()
            .filter(|l| l.seller_id == req.seller_id)
            .map(|l| l.id)
            .collect();
        let earlier = repo::claims::claimed_units_of_order(db, req.order.id)
            .await?
            .into_iter()
            .filter(|u| own_lines.contains(&u.line_id))
            .filter_map(|u| {
                Some(EarlierClaim {
                    line_id: u.line_id,
                    claim_type: policy::claim_type(ClaimType::parse(&u.claim_type)?),
                    reason: policy::reason(Reason::parse(&u.reason)?),
                    fault: policy::fault(Fault::parse(&u.fault)?),
                    quantity: u32::try_from(u.quantity).unwrap_or(0),
                })
            })
            .collect();
        Ok(Facts {
            group,
            options,
            earlier,
        })
    }

    fn item(&self, p: &PickedLine<'_>) -> Item {
        let l = p.line;
        Item {
            line_id: l.id,
            product_id: l.product_id,
            option_id: l.option_id,
            unit_price: Won::new(l.unit_price).amount(),
            quantity: p.quantity,
            bulky: self
                .options
                .get(&l.option_id)
                .is_some_and(|o| o.product.bulky),
            bundle_id: l.bundle_id.clone(),
        }
    }

    fn exchange_item(&self, p: &PickedLine<'_>, item: Item) -> ExchangeItem {
        let replacement = p.replacement_option_id.and_then(|id| self.options.get(&id));
        ExchangeItem {
            item,
            replacement_option_id: p.replacement_option_id.unwrap_or(0),
            replacement_price: replacement.map_or(0, |r| r.option.price),
            replacement_stock: replacement
                .map_or(0, |r| u32::try_from(r.option.stock).unwrap_or(0)),
        }
    }
}
