//! `oms`: the order management server and its tools.

use std::io::Write;
use std::process::ExitCode;

use chrono::Duration;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use oms::auth::TokenKeys;
use oms::config::{AuthArgs, DatabaseArgs, ServeArgs};
use oms::db::Db;
use oms::domain::actor::Role;
use oms::domain::policy::PolicyHook;

/// The server allocates many small, short-lived objects per request across threads; mimalloc
/// serves them faster than glibc's malloc (measured in BENCHMARKS.md, "Load").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Order management for marketplaces: orders, cancellations, exchanges and returns (취교반)
/// over GraphQL, on SQLite (default) or PostgreSQL.
#[derive(Parser)]
#[command(name = "oms", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (migrates the database first).
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// Fill an empty database with a marketplace at scale for benchmarks: orders and claims
    /// in every status, several sellers, both tenders, over a year (`src/seed.rs`).
    Seed(SeedArgs),
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Print every error code a client can receive, where and when, as Markdown
    /// (`docs/error-codes.md` is checked against it).
    Codes,
    /// Issue a bearer token.
    Token(TokenArgs),
    /// Print a new random secret (256 bits, base64url) for `--jwt-secret`,
    /// `--courier-webhook-secret` and the like.
    Secret,
    /// Check or run a policy plugin offline, with the server's limits (`plugins/README.md`).
    #[command(subcommand)]
    Plugin(PluginCommand),
}

#[derive(clap::Subcommand)]
enum PluginCommand {
    /// Run the upload check on a module: size, imports, exports, contract version, and an
    /// evaluation of the hook's sample input.
    Check {
        /// The `.wasm` module.
        file: std::path::PathBuf,
        /// The hook it is uploaded for.
        #[arg(long, value_enum, default_value = "claim-fees")]
        hook: HookArg,
    },
    /// Check a module, then evaluate a hook on a JSON input document; or, with `--default`,
    /// evaluate the built-in default on it, to compare.
    #[command(group(clap::ArgGroup::new("policy").required(true).args(["file", "default"])))]
    Run {
        /// The `.wasm` module (or `--default`).
        file: Option<std::path::PathBuf>,
        /// Evaluate the built-in default instead of a module: what the server decides for a
        /// seller without an active plugin.
        #[arg(long)]
        default: bool,
        /// The hook to evaluate.
        #[arg(long, value_enum, default_value = "claim-fees")]
        hook: HookArg,
        /// The input document (JSON, as in `plugins/README.md`).
        #[arg(long)]
        input: std::path::PathBuf,
    },
    /// The server's compile worker: reads a module on standard input and writes it compiled
    /// (the server starts it and kills it when the compile budget runs out).
    #[command(hide = true)]
    CompileWorker {
        /// The linear-memory cap the host's engine is configured with.
        #[arg(long)]
        memory_bytes: usize,
        /// The call-stack cap the host's engine is configured with.
        #[arg(long)]
        stack_bytes: usize,
    },
}

/// A hook on the command line.
#[derive(Clone, Copy, clap::ValueEnum)]
enum HookArg {
    ClaimFees,
    ExchangeRules,
    ClaimWindow,
}

impl From<HookArg> for PolicyHook {
    fn from(h: HookArg) -> PolicyHook {
        match h {
            HookArg::ClaimFees => PolicyHook::ClaimFees,
            HookArg::ExchangeRules => PolicyHook::ExchangeRules,
            HookArg::ClaimWindow => PolicyHook::ClaimWindow,
        }
    }
}

#[derive(clap::Args)]
struct SeedArgs {
    /// Orders to write in total (at least the two templates' 180 or so).
    #[arg(long)]
    orders: usize,
    /// Sellers in the catalogue (rounded up to a multiple of 3).
    #[arg(long, default_value_t = 102)]
    sellers: usize,
    /// The moment the data ends at, RFC 3339 (default: now). The same moment and counts give
    /// the same data.
    #[arg(long)]
    now: Option<chrono::DateTime<chrono::Utc>>,
    #[command(flatten)]
    database: DatabaseArgs,
}

#[derive(clap::Args)]
struct TokenArgs {
    /// The role: customer, seller, operator or analyst.
    #[arg(long, value_parser = parse_role)]
    role: Role,
    /// Whom the token speaks for: the customer or seller id, or a staff member's name.
    #[arg(long)]
    subject: String,
    /// Days the token stays valid (at most 90).
    #[arg(long, default_value_t = 30)]
    days: i64,
    #[command(flatten)]
    auth: AuthArgs,
}

fn parse_role(s: &str) -> Result<Role, String> {
    match s.to_ascii_lowercase().as_str() {
        "customer" => Ok(Role::Customer),
        "seller" => Ok(Role::Seller),
        "operator" => Ok(Role::Operator),
        "analyst" => Ok(Role::Analyst),
        _ => Err(format!(
            "unknown role `{s}`: use customer, seller, operator or analyst"
        )),
    }
}

fn main() -> ExitCode {
    // `OMS_<NAME>_FILE` first, while this is the only thread: clap then reads the variables
    // the files set like any other.
    let known = env_names(&Cli::command());
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    let from_files = match oms::env_files::apply(&known) {
        Ok(loaded) => loaded,
        Err(e) => return fail(&e.to_string()),
    };
    // clap quotes a value it refuses: one a `_FILE` put there may be a secret in the wrong place.
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches).map(|cli| (matches, cli)));
    let (matches, cli) = match parsed {
        Ok(parsed) => parsed,
        Err(e) if from_files.is_empty() || !e.use_stderr() => e.exit(),
        Err(e) => {
            let shown = oms::env_files::hide_values(&e.render().to_string(), &from_files);
            let _ = write!(std::io::stderr(), "{shown}");
            return ExitCode::from(2);
        }
    };
    if let Command::Serve(args) = &cli.command {
        if args.check_config {
            return check_config(args, &matches, &from_files);
        }
    }
    // GraphQL resolvers nest deep futures; an unoptimized build (`cargo run`) needs more than
    // the 2 MiB a worker thread gets by default.
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(8 * 1024 * 1024)
        .build()
    {
        Ok(runtime) => runtime.block_on(run(cli)),
        Err(e) => fail(&format!("cannot start the async runtime: {e}")),
    }
}

/// Every environment variable a flag of any command reads (`OMS_JWT_SECRET`, ...).
fn env_names(command: &clap::Command) -> Vec<String> {
    let mut names: Vec<String> = command
        .get_arguments()
        .filter_map(|a| a.get_env().and_then(|e| e.to_str()).map(str::to_owned))
        .collect();
    for sub in command.get_subcommands() {
        names.extend(env_names(sub));
    }
    names
}

/// `oms serve --check-config`: prints the settings and what is unsafe; exit status 0 when
/// nothing is, 2 otherwise.
fn check_config(
    args: &oms::config::ServeArgs,
    matches: &clap::ArgMatches,
    from_files: &[oms::env_files::Loaded],
) -> ExitCode {
    let command = Cli::command();
    let (Some(serve), Some(serve_matches)) = (
        command.find_subcommand("serve"),
        matches.subcommand_matches("serve"),
    ) else {
        return fail("the serve command is missing");
    };
    let (report, any_unsafe) =
        oms::production::check_config(serve, serve_matches, args, from_files);
    if let Err(e) = print(report.trim_end()) {
        return fail(&e);
    }
    if any_unsafe {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

/// Says why the command failed, on standard error.
fn fail(message: &str) -> ExitCode {
    // Nothing more can be said if standard error is gone too.
    let _ = writeln!(std::io::stderr(), "oms: {message}");
    ExitCode::FAILURE
}

async fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Serve(args) => oms::serve(*args).await,
        Command::Migrate(db) => migrate(db).await,
        Command::Seed(args) => seed(args).await,
        Command::Schema => print(oms::graphql::sdl().trim_end()),
        Command::Codes => print(oms::codes::render_markdown().trim_end()),
        Command::Secret => oms::auth::generate_secret().and_then(|s| print(&s)),
        Command::Token(t) => TokenKeys::new(&t.auth.jwt_secret)
            .issue(t.role, &t.subject, Duration::days(t.days))
            .map_err(|e| e.to_string())
            .and_then(|token| print(&token)),
        Command::Plugin(PluginCommand::Check { file, hook }) => {
            oms::plugin::offline::check_file(&file, hook.into(), compile_worker())
                .and_then(|r| print(&r))
        }
        Command::Plugin(PluginCommand::Run {
            file,
            default,
            hook,
            input,
        }) => match (file, default) {
            (None, true) => oms::plugin::offline::run_default_file(hook.into(), &input),
            (Some(file), false) => {
                oms::plugin::offline::run_file(&file, hook.into(), &input, compile_worker())
            }
            // clap's group refuses both and neither before this.
            (Some(_), true) | (None, false) => {
                Err("give the module FILE or --default, not both".into())
            }
        }
        .and_then(|r| print(&r)),
        Command::Plugin(PluginCommand::CompileWorker {
            memory_bytes,
            stack_bytes,
        }) => oms::plugin::worker::serve(memory_bytes, stack_bytes),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// Prints a command's answer and a newline. A reader that went away (`oms schema | head -1`)
/// ends the command quietly instead of panicking as `println!` would.
fn print(text: &str) -> Result<(), String> {
    oms::plugin::offline::write_report(&mut std::io::stdout().lock(), text)
}

/// This program as the plugin compile worker (a compile that overruns the budget is stopped);
/// compiling here when it cannot find itself.
fn compile_worker() -> oms::plugin::Compiler {
    std::env::current_exe().map_or(oms::plugin::Compiler::InProcess, |program| {
        oms::plugin::Compiler::Worker(program)
    })
}

async fn migrate(args: DatabaseArgs) -> Result<(), String> {
    let db = Db::open(&args.database_url, args.database_max_connections).await?;
    db.migrate()
        .await
        .map_err(|e| format!("migration failed: {e}"))?;
    println!("migrations applied");
    Ok(())
}

async fn seed(args: SeedArgs) -> Result<(), String> {
    let url = &args.database.database_url;
    let db = Db::open(url, args.database.database_max_connections).await?;
    db.migrate()
        .await
        .map_err(|e| format!("migration failed: {e}"))?;
    let opts = oms::seed::SeedOptions {
        orders: args.orders,
        sellers: args.sellers,
        now: args.now.unwrap_or_else(chrono::Utc::now),
    };
    println!(
        "seeding {} orders into {}",
        opts.orders,
        oms::production::redacted_url(url)
    );
    let mut last = f64::MIN;
    let report = oms::seed::run(&db, &opts, |p| {
        // A line per phase, and at most one a second while copying.
        if p.phase != "copying" || p.seconds - last >= 1.0 || p.orders == p.total {
            last = p.seconds;
            println!(
                "  {:>7.1} s  {:>10} / {} orders  {:>11} rows  {}",
                p.seconds, p.orders, p.total, p.rows, p.phase
            );
        }
    })
    .await
    .map_err(|e| format!("seed: {e}"))?;
    println!(
        "seeded {} orders, {} claims, {} customers, {} sellers: {} rows in {:.1} s \
         ({:.0} orders/s, {:.0} rows/s; templates {:.1} s, copies {:.1} s, derived tables and \
         ANALYZE {:.1} s); database {:.1} MB",
        report.orders,
        report.claims,
        report.customers,
        report.sellers,
        report.rows,
        report.seconds,
        report.orders as f64 / report.seconds,
        report.rows as f64 / report.seconds,
        report.template_seconds,
        report.copy_seconds,
        report.finish_seconds,
        report.database_bytes as f64 / 1e6,
    );
    Ok(())
}
