//! Configuration: command-line flags with environment-variable fallbacks, validated once at
//! start. Every flag's `--help` text says what it does and what the default is.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::outbox::target::AllowList;

/// The JWT secret used when none is configured. Fine for a laptop demo, never for production;
/// the server logs a warning when it runs with it.
pub const DEV_JWT_SECRET: &str = "oms-dev-secret-change-me";

/// The courier webhook's secret when none is configured: published, like [`DEV_JWT_SECRET`].
pub const DEV_COURIER_SECRET: &str = "oms-dev-courier-secret";

/// Where the database is and how to reach it.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Database URL: `sqlite://oms.db?mode=rwc` (the default, a file in the working directory,
    /// created on first start) or `postgres://user@host:5432/dbname`.
    #[arg(
        long,
        env = "OMS_DATABASE_URL",
        default_value = "sqlite://oms.db?mode=rwc"
    )]
    pub database_url: String,

    /// Maximum connections in the pool.
    #[arg(long, env = "OMS_DATABASE_MAX_CONNECTIONS", default_value_t = 16)]
    pub database_max_connections: u32,

    /// A read replica (a PostgreSQL hot standby of `--database-url`) for claim analytics, the
    /// CSV exports and every ANALYST request (`oms serve` only). Unset: they read the database.
    #[arg(long, env = "OMS_READ_DATABASE_URL")]
    pub read_database_url: Option<String>,
}

/// The secret that signs bearer tokens.
#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// HMAC secret for signing and checking bearer tokens (JWT, HS256). Set it in production;
    /// the default is a published development secret.
    #[arg(
        long,
        env = "OMS_JWT_SECRET",
        default_value = DEV_JWT_SECRET,
        hide_default_value = true,
        hide_env_values = true
    )]
    pub jwt_secret: String,

    #[command(flatten)]
    pub oidc: crate::auth::oidc::OidcArgs,
}

/// Everything `oms serve` needs.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "OMS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(flatten)]
    pub auth: AuthArgs,

    /// Seed a demo marketplace (sellers, products, customers, orders in every status) when the
    /// database has no orders yet, and print ready-made tokens.
    #[arg(long, env = "OMS_DEMO")]
    pub demo: bool,

    #[command(flatten)]
    pub limits: LimitArgs,

    #[command(flatten)]
    pub jobs: JobArgs,

    /// Folder holding GraphiQL's npm packages (`npm ci --prefix web` installs them into
    /// `web/node_modules`); served under `/graphiql/assets/`.
    #[arg(long, env = "OMS_GRAPHIQL_ASSETS", default_value = "web/node_modules")]
    pub graphiql_assets: PathBuf,

    /// The payment provider orders and fees are paid through and refunds go back through:
    /// `simulated` (built in, for the demo and tests: any payment key confirms, one starting
    /// `sim-va-` issues a virtual account) or `toss` (Toss Payments' API; needs
    /// `--payment-gateway-secret-key`).
    #[arg(long, env = "OMS_PAYMENT_GATEWAY", value_enum, default_value_t = GatewayKind::Simulated)]
    pub payment_gateway: GatewayKind,

    /// Base URL of the provider's API, `https://` (plain `http://` only on loopback, for a
    /// stand-in). Default for `toss`: `https://api.tosspayments.com`.
    #[arg(long, env = "OMS_PAYMENT_GATEWAY_URL")]
    pub payment_gateway_url: Option<String>,

    /// The shop's secret key at the provider (`test_sk_...`, `live_sk_...`); sent only in the
    /// Authorization header. Prefer `OMS_PAYMENT_GATEWAY_SECRET_KEY_FILE`.
    #[arg(long, env = "OMS_PAYMENT_GATEWAY_SECRET_KEY", hide_env_values = true)]
    pub payment_gateway_secret_key: Option<String>,

    /// Milliseconds a payment gateway call may take before it counts as timed out (and is
    /// retried with the same idempotency key).
    #[arg(long, env = "OMS_PAYMENT_GATEWAY_TIMEOUT_MS", default_value_t = 5_000)]
    pub payment_gateway_timeout_ms: u64,

    /// Base URL of an HTTP courier that books pickups (`POST {url}/pickups`). Unset: the
    /// built-in simulated courier.
    #[arg(long, env = "OMS_COURIER_URL")]
    pub courier_url: Option<String>,

    /// Shared secret the courier sends in `X-Courier-Token` with its tracking events
    /// (`POST /webhooks/courier`). Set it in production; the default is a development secret.
    #[arg(
        long,
        env = "OMS_COURIER_WEBHOOK_SECRET",
        default_value = DEV_COURIER_SECRET,
        hide_default_value = true,
        hide_env_values = true
    )]
    pub courier_webhook_secret: String,

    /// Operation names that get their own label in `/metrics` (comma-separated: the names
    /// your frontends send). Any other name is counted as `other`, so no client can grow the
    /// metrics without bound.
    #[arg(long, env = "OMS_METRICS_OPERATIONS", value_delimiter = ',')]
    pub metrics_operations: Vec<String>,

    /// Log as JSON lines instead of human-readable text. Each line logged while a request
    /// runs carries its `request_id` and `caller` (`SELLER:7`, `OPERATOR`, `anonymous`).
    #[arg(long, env = "OMS_LOG_JSON")]
    pub log_json: bool,

    /// Print every setting `oms serve` would use (secrets hidden) and where it came from, then
    /// each setting unsafe for production and why; exit 0 when none is, 2 otherwise. Connects
    /// to nothing.
    #[arg(long)]
    pub check_config: bool,

    #[command(flatten)]
    pub plugins: PluginArgs,

    #[command(flatten)]
    pub outbox: OutboxArgs,

    #[command(flatten)]
    pub tls: crate::tls::TlsArgs,
}

impl ServeArgs {
    /// Refuses a configuration that must not face a network (`production::unsafe_settings`:
    /// weak secrets, `--demo`, plain-text connections to other machines, internal webhook
    /// networks) while listening beyond loopback, and an empty secret anywhere. On loopback (a
    /// laptop) the rest is allowed with a warning. One message names every offending flag, its
    /// environment variable, why and what to do.
    pub fn refuse_unsafe(&self) -> Result<(), String> {
        let found = crate::production::unsafe_settings(self);
        if found.is_empty() {
            return Ok(());
        }
        let on_loopback = self.listen.ip().is_loopback();
        let refused: Vec<&crate::production::Unsafe> = found
            .iter()
            .filter(|u| !on_loopback || u.even_on_loopback)
            .collect();
        if refused.is_empty() {
            let list: Vec<String> = found
                .iter()
                .map(|u| format!("{}: {}", u.setting, u.why))
                .collect();
            tracing::warn!(
                settings = %list.join("; "),
                "unsafe for production; fine on loopback, refused on any other address"
            );
            return Ok(());
        }
        let list: Vec<String> = refused.iter().map(|u| format!("\n  - {u}")).collect();
        Err(format!(
            "refusing to listen on {} with {} unsafe setting{}:{}\n{}",
            self.listen,
            refused.len(),
            if refused.len() == 1 { "" } else { "s" },
            list.concat(),
            if on_loopback {
                "Fix each (`oms serve --check-config` lists every setting)."
            } else {
                "Fix each, or listen on 127.0.0.1 (`oms serve --check-config` lists every \
                 setting and what is unsafe)."
            }
        ))
    }
}

/// The shortest secret accepted beyond loopback, in characters (`oms secret` prints 43).
pub const MIN_SECRET_CHARS: usize = 32;

/// The fewest different characters a secret beyond loopback may have: 32 spaces or one letter
/// repeated is long but guessable (`oms secret` has about 30 of 64).
pub const MIN_DISTINCT_CHARS: usize = 10;

/// Where events go (`README.md`, "Notifications, webhooks and the event stream").
#[derive(Debug, Clone, Args)]
pub struct OutboxArgs {
    /// SMTP relay for mail notifications: `smtp://host:25` (plain, for a relay on this host),
    /// `smtp://user:password@host:587?tls=required` (STARTTLS) or
    /// `smtps://user:password@host:465` (implicit TLS). Without it, mail notifications are
    /// written to the log.
    #[arg(long, env = "OMS_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// The sender of mail notifications.
    #[arg(long, env = "OMS_MAIL_FROM", default_value = "OMS <noreply@oms.local>")]
    pub mail_from: String,
    /// 알림톡 gateway endpoint (`https://...`). Without it, customers with a mobile number get
    /// mail.
    #[arg(long, env = "OMS_ALIMTALK_URL")]
    pub alimtalk_url: Option<String>,
    /// The 알림톡 sender key (발신 프로필 키).
    #[arg(
        long,
        env = "OMS_ALIMTALK_SENDER_KEY",
        default_value = "",
        hide_default_value = true,
        hide_env_values = true
    )]
    pub alimtalk_sender_key: String,
    /// NATS server for the event stream: `tls://nats.example.com:4222` (TLS required) or
    /// `nats://127.0.0.1:4222`; every event is also published to JetStream.
    #[arg(long, env = "OMS_NATS_URL")]
    pub nats_url: Option<String>,
    /// How often an idle dispatcher looks for new outbox messages, in milliseconds.
    #[arg(long, env = "OMS_OUTBOX_POLL_MS", default_value_t = 100)]
    pub outbox_poll_ms: u64,
    /// How long a dispatcher holds a delivery it took before another may retry it, in seconds.
    #[arg(long, env = "OMS_OUTBOX_LEASE_SECS", default_value_t = 30)]
    pub outbox_lease_secs: u64,
    /// Networks partner webhooks may reach although they are loopback, private, link-local or
    /// otherwise internal, comma-separated (`127.0.0.0/8,::1/128`): for development and test
    /// receivers only. Default: none (README, "Where webhooks may go").
    #[arg(
        long,
        env = "OMS_WEBHOOK_ALLOW_NETWORKS",
        default_value = "",
        hide_default_value = true
    )]
    pub webhook_allow_networks: AllowList,
}

/// The sandbox of seller policy plugins (`plugins/README.md`, "Limits").
#[derive(Debug, Clone, Args)]
pub struct PluginArgs {
    /// Fuel (instructions) per plugin evaluation; at most 11,000,000.
    #[arg(
        long = "plugin-fuel",
        env = "OMS_PLUGIN_FUEL",
        default_value_t = 2_000_000
    )]
    pub fuel: u64,
    /// Wall-clock deadline per plugin evaluation, in milliseconds.
    #[arg(
        long = "plugin-deadline-ms",
        env = "OMS_PLUGIN_DEADLINE_MS",
        default_value_t = 5
    )]
    pub deadline_ms: u64,
    /// The most a plugin may decide for one claim, in won: its return fee and its exchange fee,
    /// each (a claim charges one of them); more is a failed evaluation and the built-in
    /// default decides. At most 1,000,000.
    #[arg(
        long = "plugin-fee-cap",
        env = "OMS_PLUGIN_FEE_CAP",
        default_value_t = crate::plugin::DEFAULT_FEE_CAP
    )]
    pub fee_cap: i64,
    /// How often each replica looks for plugins activated elsewhere and compiles them ahead
    /// of their first claim, in milliseconds.
    #[arg(
        long = "plugin-warm-interval-ms",
        env = "OMS_PLUGIN_WARM_INTERVAL_MS",
        default_value_t = 2_000
    )]
    pub warm_interval_ms: u64,
}

impl Default for PluginArgs {
    fn default() -> Self {
        PluginArgs {
            fuel: 2_000_000,
            deadline_ms: 5,
            fee_cap: crate::plugin::DEFAULT_FEE_CAP,
            warm_interval_ms: 2_000,
        }
    }
}

/// Limits that protect the server from expensive or malicious requests.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Deepest nesting of fields a query may have.
    #[arg(long, env = "OMS_MAX_DEPTH", default_value_t = 12)]
    pub max_depth: usize,

    /// Highest complexity of a query: its fields counted, each aliased copy again (lists are
    /// not multiplied by their page size; `--max-page-size` and `--max-aliases` bound those).
    #[arg(long, env = "OMS_MAX_COMPLEXITY", default_value_t = 20_000)]
    pub max_complexity: usize,

    /// Deepest nesting of `{`, `[` and `(` anywhere in a document (selections, argument
    /// lists, list and object values, list types), checked by a linear scan before the
    /// document is parsed.
    #[arg(long, env = "OMS_MAX_NESTING", default_value_t = 64)]
    pub max_nesting: usize,

    /// Most selections a document may have once every fragment spread is expanded (what
    /// validation walks): bounds the work of documents whose fragments spread each other.
    #[arg(long, env = "OMS_MAX_DOCUMENT_NODES", default_value_t = 50_000)]
    pub max_document_nodes: u64,

    /// Most aliases (`name: field`) a document may use. Each alias runs its field again, so a
    /// flood of them multiplies the work of one cheap field.
    #[arg(long, env = "OMS_MAX_ALIASES", default_value_t = 100)]
    pub max_aliases: usize,

    /// Largest request body accepted, in bytes. Room for `uploadPlugin` with a module at the
    /// 1 MiB cap, base64-encoded.
    #[arg(long, env = "OMS_MAX_BODY_BYTES", default_value_t = 1536 * 1024)]
    pub max_body_bytes: usize,

    /// Largest page (`first` / `last`) of a connection.
    #[arg(long, env = "OMS_MAX_PAGE_SIZE", default_value_t = 100)]
    pub max_page_size: usize,

    /// Time a request may take before it is stopped, in milliseconds.
    #[arg(long, env = "OMS_REQUEST_TIMEOUT_MS", default_value_t = 10_000)]
    pub request_timeout_ms: u64,

    /// How long nested-field loaders gather keys before one batched query, in microseconds.
    /// Longer batches more reliably on a busy machine; every nesting level waits this once.
    #[arg(long, env = "OMS_LOADER_DELAY_US", default_value_t = 2_000)]
    pub loader_delay_us: u64,

    /// Most `claimEvents` subscriptions open at once on one WebSocket.
    #[arg(
        long,
        env = "OMS_MAX_SUBSCRIPTIONS_PER_CONNECTION",
        default_value_t = 50
    )]
    pub max_subscriptions_per_connection: usize,

    /// Most `claimEvents` subscriptions one customer or seller may have open at once on this
    /// server, over all its connections (all OPERATORs count as one actor, all ANALYSTs as
    /// another: raise it for a large CS team).
    #[arg(long, env = "OMS_MAX_SUBSCRIPTIONS_PER_ACTOR", default_value_t = 100)]
    pub max_subscriptions_per_actor: usize,

    /// Turn introspection off (GraphiQL's docs pane needs it on).
    #[arg(long, env = "OMS_DISABLE_INTROSPECTION")]
    pub disable_introspection: bool,
}

impl LimitArgs {
    /// The per-request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

impl Default for LimitArgs {
    fn default() -> Self {
        LimitArgs {
            max_depth: 12,
            max_complexity: 20_000,
            max_nesting: 64,
            max_document_nodes: 50_000,
            max_aliases: 100,
            max_body_bytes: 1536 * 1024,
            max_page_size: 100,
            request_timeout_ms: 10_000,
            loader_delay_us: 2_000,
            max_subscriptions_per_connection: 50,
            max_subscriptions_per_actor: 100,
            disable_introspection: false,
        }
    }
}

/// The SYSTEM job runner.
#[derive(Debug, Clone, Args)]
pub struct JobArgs {
    /// Seconds between runs of the SYSTEM jobs (automatic purchase confirmation, ...).
    /// 0 turns the periodic runner off (jobs still run with the `runSystemJobs` mutation).
    #[arg(long, env = "OMS_JOB_INTERVAL_SECS", default_value_t = 60)]
    pub job_interval_secs: u64,

    /// Seconds a replica's lease on a SYSTEM job lasts. It is renewed every third of that
    /// while the job runs, so a replica that dies holds its job at most this long.
    #[arg(long, env = "OMS_JOB_LEASE_SECS", default_value_t = 30)]
    pub job_lease_secs: u64,

    /// Days after delivery after which the SYSTEM confirms the purchase (구매확정).
    #[arg(long, env = "OMS_AUTO_CONFIRM_DAYS", default_value_t = 8)]
    pub auto_confirm_days: i64,

    /// Days an exchange may stay held for its unpaid fee before the SYSTEM withdraws it.
    #[arg(long, env = "OMS_UNPAID_FEE_DAYS", default_value_t = 14)]
    pub unpaid_fee_days: i64,

    /// Hours a bank-transfer order waits for its deposit (입금 기한).
    #[arg(long, env = "OMS_DEPOSIT_DEADLINE_HOURS", default_value_t = 72)]
    pub deposit_deadline_hours: i64,

    /// Minutes a card order waits for `confirmPayment` before the SYSTEM cancels it and
    /// releases its stock (an authorization nobody confirms lapses at the provider by itself).
    #[arg(long, env = "OMS_CARD_PAYMENT_MINUTES", default_value_t = 30)]
    pub card_payment_minutes: i64,

    /// Attempts the SYSTEM makes to pay a refund part back through the payment gateway, with
    /// a backoff that doubles each time, before the part is FAILED and left to an operator
    /// (`retryRefund` starts them again, `resolveRefundManually` settles it by hand). 1 to 20.
    #[arg(
        long,
        env = "OMS_REFUND_MAX_ATTEMPTS",
        default_value_t = RefundAttempts::DEFAULT
    )]
    pub refund_max_attempts: RefundAttempts,
}

/// The payment providers the server speaks to (`--payment-gateway`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GatewayKind {
    /// The built-in simulator.
    Simulated,
    /// Toss Payments' core API.
    Toss,
}

/// How many times a refund part is sent to the payment gateway before it is FAILED
/// (`money.md`: "attempts configurable, default 8"): a whole number from
/// [`RefundAttempts::MIN`] to [`RefundAttempts::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundAttempts(i32);

impl RefundAttempts {
    /// One attempt: no retry at all.
    pub const MIN: i32 = 1;
    /// With the backoff capped at 2^12 s, 20 attempts keep a part retrying for about ten
    /// hours; a refund left unpaid longer is better in an operator's hands.
    pub const MAX: i32 = 20;
    /// The default of `money.md`.
    pub const DEFAULT: RefundAttempts = RefundAttempts(8);

    /// `n` attempts, or why not.
    pub fn new(n: i32) -> Result<RefundAttempts, String> {
        if (Self::MIN..=Self::MAX).contains(&n) {
            Ok(RefundAttempts(n))
        } else {
            Err(format!(
                "a refund part is tried from {} to {} times (default {}), not {n}: set \
                 --refund-max-attempts (OMS_REFUND_MAX_ATTEMPTS) within that range",
                Self::MIN,
                Self::MAX,
                Self::DEFAULT
            ))
        }
    }

    /// The number of attempts.
    pub const fn get(self) -> i32 {
        self.0
    }
}

impl Default for RefundAttempts {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl std::fmt::Display for RefundAttempts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::str::FromStr for RefundAttempts {
    type Err = String;

    fn from_str(s: &str) -> Result<RefundAttempts, String> {
        let n = s.trim().parse::<i32>().map_err(|_| {
            format!(
                "`{s}` is not a number of attempts: give a whole number from {} to {}",
                Self::MIN,
                Self::MAX
            )
        })?;
        RefundAttempts::new(n)
    }
}

impl JobArgs {
    /// How long a job lease lasts (at least a second).
    pub fn job_lease(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.job_lease_secs.max(1))
    }
}

impl Default for JobArgs {
    fn default() -> Self {
        JobArgs {
            job_interval_secs: 60,
            job_lease_secs: 30,
            auto_confirm_days: 8,
            unpaid_fee_days: 14,
            deposit_deadline_hours: 72,
            card_payment_minutes: 30,
            refund_max_attempts: RefundAttempts::DEFAULT,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        outbox: OutboxArgs,
    }

    #[derive(Parser)]
    struct JobCli {
        #[command(flatten)]
        jobs: JobArgs,
    }

    #[test]
    fn refund_attempts_default_to_eight_and_stay_in_range() {
        let none = JobCli::try_parse_from(["oms"]).unwrap();
        assert_eq!(none.jobs.refund_max_attempts.get(), 8);
        let three = JobCli::try_parse_from(["oms", "--refund-max-attempts", "3"]).unwrap();
        assert_eq!(three.jobs.refund_max_attempts.get(), 3);
        let twenty = JobCli::try_parse_from(["oms", "--refund-max-attempts", "20"]).unwrap();
        assert_eq!(twenty.jobs.refund_max_attempts.get(), 20);
        for bad in ["0", "21", "-1", "eight"] {
            let arg = format!("--refund-max-attempts={bad}");
            let refused = JobCli::try_parse_from(["oms", arg.as_str()])
                .err()
                .unwrap()
                .to_string();
            assert!(refused.contains("from 1 to 20"), "{bad}: {refused}");
        }
    }

    #[test]
    fn the_webhook_allow_list_is_empty_unless_given() {
        let none = Cli::try_parse_from(["oms"]).unwrap();
        assert!(none.outbox.webhook_allow_networks.networks().is_empty());
        let some = Cli::try_parse_from(["oms", "--webhook-allow-networks", "127.0.0.0/8,::1/128"])
            .unwrap();
        let names: Vec<String> = some
            .outbox
            .webhook_allow_networks
            .networks()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(names, ["127.0.0.0/8", "::1/128"]);
        let bad = Cli::try_parse_from(["oms", "--webhook-allow-networks", "10.0.0.1/8"])
            .err()
            .unwrap()
            .to_string();
        assert!(bad.contains("write 10.0.0.0/8"), "{bad}");
    }
}
