//! Seller policy plugins over GraphQL (`policies.md`, "Lifecycle"): upload, dry run,
//! activate, deactivate, and the lists a seller and operators read.

use async_graphql::{Context, InputObject, Json, Object, Result, SimpleObject, ID};
use base64::Engine;

use super::ids::{parse, Kind};
use super::types::payloads::{payload, refusable, refusal};
use super::types::plugin::{Plugin, PluginEvaluation, PluginFailure, PolicyHook};
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

/// Evaluate an uploaded module on an input, changing nothing.
#[derive(InputObject)]
pub struct DryRunPluginInput {
    /// The plugin (`Plugin.id`).
    pub plugin_id: ID,
    /// The hook's input document as JSON (field names as in `plugins/README.md`). Bounded by
    /// the plugin input cap (128 KiB encoded); never stored.
    pub input: Json<serde_json::Value>,
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

refusable!(PluginPayload, DryRunPluginPayload);

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
    /// version 1, and evaluating the hook's sample input successfully. Refusals:
    /// PLUGIN_TOO_LARGE, PLUGIN_INVALID, PLUGIN_UNSUPPORTED_CONTRACT, PLUGIN_SMOKE_FAILED.
    async fn upload_plugin(
        &self,
        ctx: &Context<'_>,
        input: UploadPluginInput,
    ) -> Result<PluginPayload> {
        let actor = require_writer(ctx)?;
        let app = app(ctx)?;
        let encoded = input.wasm_base64.trim();
        // Base64 is 4/3 of the bytes: refuse an oversized upload before decoding it.
        if encoded.len() / 4 * 3 > app.plugins.limits().module_bytes + 3 {
            return plugin_payload(Err(UserError::new(
                UserErrorCode::PluginTooLarge,
                &["wasmBase64"],
                format!(
                    "the module is about {} bytes; the limit is {} bytes",
                    encoded.len() / 4 * 3,
                    app.plugins.limits().module_bytes
                ),
            )
            .into()));
        }
        let wasm = match base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(encoded.trim_end_matches('='))
        {
            Ok(w) => w,
            Err(e) => {
                return plugin_payload(Err(UserError::new(
                    UserErrorCode::PluginInvalid,
                    &["wasmBase64"],
                    format!("wasmBase64 is not base64: {e}"),
                )
                .into()))
            }
        };
        let seller = match seller(&input.seller_id) {
            Ok(seller) => seller,
            Err(e) => return refusal(e),
        };
        let result = plugins::upload(app, actor, seller, input.hook.into(), wasm).await;
        plugin_payload(result.map(Some))
    }

    /// Evaluates an uploaded plugin on an input and returns its output, the fuel it used, the
    /// time it took and its log — changing nothing. SELLER (its own) and OPERATOR.
    async fn dry_run_plugin(
        &self,
        ctx: &Context<'_>,
        input: DryRunPluginInput,
    ) -> Result<DryRunPluginPayload> {
        let actor = require_writer(ctx)?;
        let id = match parse(&input.plugin_id, Kind::Plugin) {
            Ok(id) => id,
            Err(e) => return refusal(e),
        };
        payload(
            plugins::dry_run(app(ctx)?, actor, id, input.input.0).await,
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
