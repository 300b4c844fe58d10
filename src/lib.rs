//! The OMS server: orders, claims (취소·교환·반품) and refunds for marketplaces, over GraphQL.
//!
//! `main.rs` is the command line; this crate builds the application so that the binary and the
//! tests run the very same router.

pub mod app;
pub mod auth;
pub mod clock;
pub mod codes;
pub mod config;
pub mod courier;
pub mod db;
pub mod demo;
pub mod domain;
pub mod env_files;
pub mod error;
pub mod gateway;
pub mod graphql;
pub mod http;
pub mod metrics;
pub mod notify;
pub mod outbox;
pub mod plugin;
pub mod production;
pub mod repo;
pub mod seed;
pub mod service;
pub mod tls;
pub mod webhook;

use std::sync::Arc;

use crate::app::App;
use crate::auth::TokenKeys;
use crate::clock::SystemClock;
use crate::config::ServeArgs;
use crate::db::Db;
use crate::metrics::Metrics;

/// Runs the server until SIGTERM or Ctrl-C: connects, migrates, seeds the demo if asked,
/// starts the SYSTEM job runner, and serves HTTP with graceful shutdown.
pub async fn serve(args: ServeArgs) -> Result<(), String> {
    init_tracing(args.log_json);
    args.refuse_unsafe()?;
    let tls = tls::Tls::from_args(&args.tls).map_err(|e| e.to_string())?;
    let ca_file = args.tls.tls_ca_file.as_deref();
    // The identity provider's flags are checked before anything is served; its keys are
    // fetched (trusting what every client trusts) at the first token that needs them.
    let keys = TokenKeys::from_args(&args.auth, &tls)?;
    if let Some(oidc) = keys.oidc() {
        tracing::info!(
            issuer = %oidc.config().issuer,
            hs256 = oidc.config().allow_hs256,
            "accepting the identity provider's tokens"
        );
    }
    let db = Db::open(
        &tls::postgres_url(&args.database.database_url, ca_file),
        args.database.database_max_connections,
    )
    .await?;
    db.migrate()
        .await
        .map_err(|e| format!("migration failed: {e}"))?;
    let db = match &args.database.read_database_url {
        Some(url) => db
            .with_read_replica(
                &tls::postgres_url(url, ca_file),
                args.database.database_max_connections,
            )
            .await
            .map_err(|e| {
                format!(
                    "cannot open the read replica {}: {e}",
                    production::redacted_url(url)
                )
            })?,
        None => db,
    };
    let app = App {
        live: outbox::live::LiveHub::new(db.clone()),
        db,
        clock: Arc::new(SystemClock),
        keys,
        limits: args.limits.clone(),
        jobs: args.jobs.clone(),
        metrics: Metrics::with_operations(&args.metrics_operations),
        gateway: payment_gateway(&args, &tls)?,
        courier_secret: args.courier_webhook_secret.clone(),
        courier: match &args.courier_url {
            Some(url) => Arc::new(courier::HttpCourier::new(
                url,
                std::time::Duration::from_millis(args.payment_gateway_timeout_ms),
                &tls,
            )?),
            None => Arc::new(courier::SimulatedCourier),
        },
        instance_id: format!(
            "{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_millis()
        ),
        plugins: Arc::new(plugin::PluginHost::with_compiler(
            plugin::PluginLimits::with(
                args.plugins.fuel,
                args.plugins.deadline_ms,
                args.plugins.fee_cap,
            )?,
            // Compiles run in children of this program, stopped at the compile budget.
            plugin::Compiler::Worker(
                std::env::current_exe()
                    .map_err(|e| format!("cannot find this program to compile plugins: {e}"))?,
            ),
        )?),
        plugin_quota: Default::default(),
        outbox: Arc::new(outbox_channels(&args.outbox, &args.tls, &tls).await?),
    };
    if args.demo {
        demo::seed_if_empty(&app)
            .await
            .map_err(|e| format!("demo seeding failed: {e}"))?;
        demo::print_tokens(&app, args.listen);
    }
    // Compile what is active (at once, without holding up requests: a claim that comes first
    // compiles its module itself), then follow activations made anywhere.
    tokio::spawn(service::plugins::warm_forever(
        app.clone(),
        std::time::Duration::from_millis(args.plugins.warm_interval_ms.max(100)),
    ));
    tokio::spawn(outbox::dispatch::run_forever(
        app.clone(),
        std::time::Duration::from_millis(args.outbox.outbox_poll_ms.max(1)),
    ));
    if args.jobs.job_interval_secs > 0 {
        let interval = std::time::Duration::from_secs(args.jobs.job_interval_secs);
        tokio::spawn(service::jobs::run_forever(app.clone(), interval));
    }
    let router = http::router(app, &args.graphiql_assets);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    tracing::info!(address = %args.listen, "serving GraphQL at /graphql and GraphiQL at /graphiql");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| format!("server error: {e}"))?;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// The payment provider of the flags: the simulator, or Toss Payments' API with the shop's
/// secret key (its URL `https://`, or `http://` on loopback only).
fn payment_gateway(
    args: &ServeArgs,
    tls: &tls::Tls,
) -> Result<Arc<dyn gateway::PaymentGateway>, String> {
    let timeout = std::time::Duration::from_millis(args.payment_gateway_timeout_ms);
    match args.payment_gateway {
        config::GatewayKind::Simulated => {
            if let Some(url) = &args.payment_gateway_url {
                return Err(format!(
                    "--payment-gateway-url {url} is set but --payment-gateway is `simulated`: \
                     add --payment-gateway toss (and its --payment-gateway-secret-key)"
                ));
            }
            Ok(Arc::new(gateway::SimulatedGateway::default()))
        }
        config::GatewayKind::Toss => {
            let key = args.payment_gateway_secret_key.as_deref().ok_or(
                "--payment-gateway toss needs the shop's secret key: set \
                 OMS_PAYMENT_GATEWAY_SECRET_KEY_FILE (or --payment-gateway-secret-key)",
            )?;
            let url = args
                .payment_gateway_url
                .as_deref()
                .unwrap_or(gateway::TOSS_API_URL);
            let identity = args
                .tls
                .payment_gateway_identity()
                .map_err(|e| e.to_string())?;
            Ok(Arc::new(gateway::TossGateway::new(
                url,
                key,
                timeout,
                tls,
                identity.as_ref(),
            )?))
        }
    }
}

/// The channels outbox deliveries go through, from the flags.
async fn outbox_channels(
    args: &config::OutboxArgs,
    tls_args: &tls::TlsArgs,
    tls: &tls::Tls,
) -> Result<outbox::dispatch::Channels, String> {
    let timeout = std::time::Duration::from_secs(10);
    let allowed = args.webhook_allow_networks.networks();
    if !allowed.is_empty() {
        let list: Vec<String> = allowed.iter().map(ToString::to_string).collect();
        tracing::warn!(
            "webhooks may reach {} (--webhook-allow-networks): for development and tests only",
            list.join(", ")
        );
    }
    Ok(outbox::dispatch::Channels {
        mailer: notify::channels::Mailer::from_url(args.smtp_url.as_deref(), &args.mail_from, tls)?,
        messenger: match &args.alimtalk_url {
            Some(url) => notify::channels::Messenger::Alimtalk(notify::channels::Alimtalk::new(
                url,
                &args.alimtalk_sender_key,
                timeout,
                tls,
            )?),
            None => notify::channels::Messenger::Log,
        },
        webhooks: outbox::webhook_client::WebhookClient::new(
            outbox::webhook_client::Targets::new(
                args.webhook_allow_networks.clone(),
                Arc::new(outbox::webhook_client::SystemLookup),
            ),
            tls,
        )?,
        nats: match &args.nats_url {
            Some(url) => {
                let identity = tls_args.nats_identity().map_err(|e| e.to_string())?;
                Some(outbox::stream::NatsStream::connect(url, tls, identity.as_ref()).await?)
            }
            None => None,
        },
        lease: std::time::Duration::from_secs(args.outbox_lease_secs.max(1)),
    })
}

fn init_tracing(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
