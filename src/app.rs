//! The application state every request and job shares.

use std::sync::Arc;

use crate::auth::TokenKeys;
use crate::clock::Clock;
use crate::config::{JobArgs, LimitArgs};
use crate::courier::CourierAdapter;
use crate::db::Db;
use crate::gateway::PaymentGateway;
use crate::metrics::Metrics;
use crate::outbox::dispatch::Channels;
use crate::outbox::live::LiveHub;
use crate::plugin::PluginHost;

/// Database, clock, token keys, limits, metrics.
#[derive(Clone)]
pub struct App {
    /// The database.
    pub db: Db,
    /// The time source (manual in tests).
    pub clock: Arc<dyn Clock>,
    /// Signs HS256 tokens and checks every bearer token (HS256, and the identity provider's
    /// with `--oidc-issuer`): [`TokenKeys::authenticate`].
    pub keys: TokenKeys,
    /// Request limits.
    pub limits: LimitArgs,
    /// SYSTEM job settings.
    pub jobs: JobArgs,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// The feed of claim events behind `claimEvents`.
    pub live: LiveHub,
    /// The payment gateway refunds go through.
    pub gateway: Arc<dyn PaymentGateway>,
    /// The courier that books pickups.
    pub courier: Arc<dyn CourierAdapter>,
    /// The secret the courier's tracking webhook must present.
    pub courier_secret: String,
    /// This process's name in job leases (unique per replica).
    pub instance_id: String,
    /// Runs sellers' policy plugins.
    pub plugins: Arc<PluginHost>,
    /// Each seller's allowance of dry runs and plugin checks in this process.
    pub plugin_quota: Arc<crate::service::quota::SellerQuota>,
    /// What carries outbox deliveries (mail, 알림톡, webhooks, NATS).
    pub outbox: Arc<Channels>,
}
