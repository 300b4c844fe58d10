//! Seller policy plugins over GraphQL (`policies.md`, "Lifecycle"): upload, dry run,
//! activate, deactivate, and the lists a seller and operators read.

use async_graphql::{Context, InputObject, Json, Object, Result, SimpleObject, ID};
use base64::Engine;

use super::ids::{parse, Kind};
use super::types::payloads::{payload, refusable, refusal};
use super::types::plugin::{Plugin, PluginCheck, PluginEvaluation, PluginFailure, PolicyHook};
use super::{app, require_actor, require_writer};
use crate::error::{to_graphql_error, ServiceError, UserError, UserErrorCode};
use crate::service::plugins;

/// Upload a module as the next version of a seller's hook.
#[derive(InputObject)]
pub struct UploadPluginInput {
    /// The seller (an OPERATOR names it; a SELLER may leave it out).
    pub seller_id: Option<ID>,
    /// The hook the module decides; it must export the hook's function.
    pub hook: PolicyHook,
    /// The `.wasm` module, base64 (standard alphabet, padding optional). Its length is the
    /// module size limit's (1 MiB decoded): a larger module is PLUGIN_TOO_LARGE, anything but
    /// base64 PLUGIN_INVALID.
    pub wasm_base64: String,
}

/// Evaluate something on an input, changing nothing: an uploaded plugin (`pluginId`), a
/// module that is not uploaded (`hook` and `wasmBase64`: it gets the upload check first), or
/// the built-in default (`hook` and `defaultPolicy: true`), to compare with. Name exactly one.
#[derive(InputObject)]
pub struct DryRunPluginInput {
    /// An uploaded plugin (`Plugin.id`).
    pub plugin_id: Option<ID>,
    /// The hook, with `wasmBase64` or `defaultPolicy`.
    pub hook: Option<PolicyHook>,
    /// A module that is not uploaded, base64 (as in `uploadPlugin`).
    pub wasm_base64: Option<String>,
    /// The seller `wasmBase64` is for (an OPERATOR names it; a SELLER may leave it out).
    pub seller_id: Option<ID>,
    /// Evaluate the built-in default of `hook`.
    #[graphql(default = false)]
    pub default_policy: bool,
    /// The hook's input document as JSON (field names as in `plugins/README.md`). Bounded by
    /// the plugin input cap (128 KiB encoded); never stored.
    pub input: Json<serde_json::Value>,
}

/// Check a module as `uploadPlugin` would, without storing it.
#[derive(InputObject)]
pub struct CheckPluginInput {
    /// The seller (an OPERATOR names it; a SELLER may leave it out).
    pub seller_id: Option<ID>,
    /// The hook the module decides; it must export the hook's function.
    pub hook: PolicyHook,
    /// The `.wasm` module, base64, as in `uploadPlugin`.
    pub wasm_base64: String,
}

/// Make one uploaded version the seller's policy for its hook.
#[derive(InputObject)]
pub struct ActivatePluginInput {
    /// The plugin (`Plugin.id`); an older version rolls back.
    pub plugin_id: ID,
}

/// Return a seller's hook to the built-in default.
#[derive(InputObject)]
pub struct DeactivatePluginInput {
    /// The seller (an OPERATOR names it; a SELLER may leave it out).
    pub seller_id: Option<ID>,
    /// The hook.
    pub hook: PolicyHook,
}

/// The result of a plugin mutation.
#[derive(SimpleObject, Default)]
pub struct PluginPayload {
    /// The plugin as it is now. Null when refused (or, for `deactivatePlugin`, when no plugin
    /// was active).
    pub plugin: Option<Plugin>,
    /// Why the request was refused; empty on success. A refused request stored nothing.
    pub user_errors: Vec<UserError>,
}

/// The result of `dryRunPlugin`.
#[derive(SimpleObject, Default)]
pub struct DryRunPluginPayload {
    /// The evaluation; null when refused.
    pub evaluation: Option<PluginEvaluation>,
    /// Why the request was refused (not a failed evaluation: that is `evaluation.failure`).
    pub user_errors: Vec<UserError>,
}

/// The result of `checkPlugin`.
#[derive(SimpleObject, Default)]
pub struct CheckPluginPayload {
    /// The report; null when refused (the refusal is the one `uploadPlugin` would give).
    pub check: Option<PluginCheck>,
    /// Why the module was refused.
    pub user_errors: Vec<UserError>,
}

refusable!(PluginPayload, DryRunPluginPayload, CheckPluginPayload);

/// The bytes of a `wasmBase64` field, refused (as the upload check would) when over the size
/// limit or not base64.
fn module_bytes(app: &crate::app::App, encoded: &str) -> Result<Vec<u8>, ServiceError> {
    let encoded = encoded.trim();
    let limit = app.plugins.limits().module_bytes;
    // Base64 is 4/3 of the bytes: refuse an oversized upload before decoding it.
    if encoded.len() / 4 * 3 > limit + 3 {
        return Err(UserError::new(
            UserErrorCode::PluginTooLarge,
            &["wasmBase64"],
            format!(
                "the module is about {} bytes; the limit is {limit} bytes",
                encoded.len() / 4 * 3
            ),
        )
        .into());
    }
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .map_err(|e| {
            UserError::new(
                UserErrorCode::PluginInvalid,
                &["wasmBase64"],
                format!("wasmBase64 is not base64: {e}"),
            )
            .into()
        })
}

/// A module and the seller it is for, from an upload's or a check's input.
fn module_for(
    app: &crate::app::App,
    encoded: &str,
    seller_id: &Option<ID>,
) -> Result<(Vec<u8>, Option<i64>), ServiceError> {
    Ok((module_bytes(app, encoded)?, seller(seller_id)?))
}

/// What a dry run's input names, or why it names nothing (or too much).
fn dry_run_of(
    app: &crate::app::App,
    input: &DryRunPluginInput,
) -> Result<plugins::DryRunOf, ServiceError> {
    let named = [
        input.plugin_id.is_some(),
        input.wasm_base64.is_some(),
        input.default_policy,
    ];
    if named.iter().filter(|n| **n).count() != 1 {
        return Err(ServiceError::BadInput(
            "name exactly one of pluginId, wasmBase64 (with hook) or defaultPolicy: true \
             (with hook)"
                .into(),
        ));
    }
    if let Some(id) = &input.plugin_id {
        return Ok(plugins::DryRunOf::Plugin(parse(id, Kind::Plugin)?));
    }
    let hook = input
        .hook
        .ok_or_else(|| {
            ServiceError::BadInput("hook is required with wasmBase64 or defaultPolicy".into())
        })?
        .into();
    match &input.wasm_base64 {
        Some(encoded) => Ok(plugins::DryRunOf::Module {
            seller_id: seller(&input.seller_id)?,
            hook,
            wasm: module_bytes(app, encoded)?,
        }),
        None => Ok(plugins::DryRunOf::Default(hook)),
    }
}

fn plugin_payload(
    result: Result<Option<plugins::PluginView>, ServiceError>,
) -> Result<PluginPayload> {
    payload(result, |view| PluginPayload {
        plugin: view.map(Plugin),
        user_errors: Vec::new(),
    })
}

fn seller(id: &Option<ID>) -> Result<Option<i64>, ServiceError> {
    id.as_ref().map(|s| parse(s, Kind::Seller)).transpose()
}

/// Plugin queries.
#[derive(Default)]
pub struct PluginQuery;

#[Object]
impl PluginQuery {
    /// A seller's policy plugins, newest first: every uploaded version with its state. A
    /// SELLER sees its own; OPERATOR and ANALYST see every seller's (or one, with `sellerId`).
    async fn plugins(
        &self,
        ctx: &Context<'_>,
        seller_id: Option<ID>,
        hook: Option<PolicyHook>,
        #[graphql(default = 50, validator(minimum = 1, maximum = 200))] first: i32,
    ) -> Result<Vec<Plugin>> {
        let actor = require_actor(ctx)?;
        let rows = plugins::list(
            app(ctx)?,
            actor,
            seller(&seller_id).map_err(to_graphql_error)?,
            hook.map(Into::into),
            u64::try_from(first).unwrap_or(50),
        )
        .await
        .map_err(to_graphql_error)?;
        Ok(rows.into_iter().map(Plugin).collect())
    }

    /// Failed plugin evaluations, newest first (the default decided those hooks). A SELLER
    /// sees its own; OPERATOR and ANALYST every seller's.
    async fn plugin_failures(
        &self,
        ctx: &Context<'_>,
        plugin_id: Option<ID>,
        #[graphql(default = 50, validator(minimum = 1, maximum = 200))] first: i32,
    ) -> Result<Vec<PluginFailure>> {
        let actor = require_actor(ctx)?;
        let plugin_id = plugin_id
            .as_ref()
            .map(|p| parse(p, Kind::Plugin))
            .transpose()
            .map_err(to_graphql_error)?;
        let rows = plugins::failures(
            app(ctx)?,
            actor,
            plugin_id,
            u64::try_from(first).unwrap_or(50),
        )
        .await
        .map_err(to_graphql_error)?;
        Ok(rows.into_iter().map(PluginFailure).collect())
    }
}

/// Plugin mutations.
#[derive(Default)]
pub struct PluginMutation;

#[Object]
impl PluginMutation {
    /// Uploads a policy module (SELLER for itself, OPERATOR for any seller). It is checked
    /// before it is stored: under the size limit, a valid module, importing nothing but
    /// `oms.log`, exporting what the contract requires for the hook, built for contract
    /// version 1, within the static shape limits and the compile budget, and evaluating each
    /// of the hook's sample inputs successfully. Refusals: PLUGIN_TOO_LARGE, PLUGIN_INVALID,
    /// PLUGIN_UNSUPPORTED_CONTRACT, PLUGIN_SMOKE_FAILED, PLUGIN_BUSY, RATE_LIMITED.
    async fn upload_plugin(
        &self,
        ctx: &Context<'_>,
        input: UploadPluginInput,
    ) -> Result<PluginPayload> {
        let actor = require_writer(ctx)?;
        let app = app(ctx)?;
        let (wasm, seller) = match module_for(app, &input.wasm_base64, &input.seller_id) {
            Ok(parsed) => parsed,
            Err(e) => return refusal(e),
        };
        let result = plugins::upload(app, actor, seller, input.hook.into(), wasm).await;
        plugin_payload(result.map(Some))
    }

    /// The upload check without storing: checks a module as `uploadPlugin` would (shape,
    /// imports, exports, contract version, compile within budget) and returns its evaluation
    /// on each of the hook's sample inputs — changing nothing. Refusals as `uploadPlugin`'s,
    /// plus PLUGIN_BUSY and RATE_LIMITED (each seller may check or upload 30 modules at once,
    /// then one every 2 s). SELLER (its own) and OPERATOR.
    async fn check_plugin(
        &self,
        ctx: &Context<'_>,
        input: CheckPluginInput,
    ) -> Result<CheckPluginPayload> {
        let actor = require_writer(ctx)?;
        let app = app(ctx)?;
        let (wasm, seller) = match module_for(app, &input.wasm_base64, &input.seller_id) {
            Ok(parsed) => parsed,
            Err(e) => return refusal(e),
        };
        payload(
            plugins::check(app, actor, seller, input.hook.into(), wasm).await,
            |report| CheckPluginPayload {
                check: Some(report.into()),
                user_errors: Vec::new(),
            },
        )
    }

    /// Evaluates an uploaded plugin, a module not uploaded (checked first, as `checkPlugin`
    /// does) or the built-in default on an input and returns its output, the fuel it used, the
    /// time it took and its log — changing nothing. Each seller may dry-run 30 times at once,
    /// then 5 times a second (RATE_LIMITED past that). SELLER (its own) and OPERATOR.
    async fn dry_run_plugin(
        &self,
        ctx: &Context<'_>,
        input: DryRunPluginInput,
    ) -> Result<DryRunPluginPayload> {
        let actor = require_writer(ctx)?;
        let app = app(ctx)?;
        let of = match dry_run_of(app, &input) {
            Ok(of) => of,
            Err(e) => return refusal(e),
        };
        payload(
            plugins::dry_run(app, actor, of, input.input.0).await,
            |run| DryRunPluginPayload {
                evaluation: Some(run.into()),
                user_errors: Vec::new(),
            },
        )
    }

    /// Makes an uploaded version its seller's policy for its hook, replacing the active one;
    /// activating an older version is the rollback. Claims that start after this returns use
    /// it, on every replica. Also switches a plugin the circuit breaker switched off back on.
    async fn activate_plugin(
        &self,
        ctx: &Context<'_>,
        input: ActivatePluginInput,
    ) -> Result<PluginPayload> {
        let actor = require_writer(ctx)?;
        let id = match parse(&input.plugin_id, Kind::Plugin) {
            Ok(id) => id,
            Err(e) => return refusal(e),
        };
        plugin_payload(plugins::activate(app(ctx)?, actor, id).await.map(Some))
    }

    /// Returns a seller's hook to the built-in default. The payload names the plugin that was
    /// active (null when none was).
    async fn deactivate_plugin(
        &self,
        ctx: &Context<'_>,
        input: DeactivatePluginInput,
    ) -> Result<PluginPayload> {
        let actor = require_writer(ctx)?;
        let seller = match seller(&input.seller_id) {
            Ok(seller) => seller,
            Err(e) => return refusal(e),
        };
        plugin_payload(plugins::deactivate(app(ctx)?, actor, seller, input.hook.into()).await)
    }
}
