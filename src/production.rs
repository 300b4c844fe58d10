//! What makes a configuration unsafe to face a network: the one list that
//! `oms serve --check-config` prints and `oms serve` refuses beyond loopback
//! ([`crate::config::ServeArgs::refuse_unsafe`]). Each entry names the flag and its environment
//! variable, says why and what to do.
//!
//! This module only classifies; the clients themselves speak TLS when their URLs ask for it
//! (`src/tls.rs`).

use std::net::{IpAddr, Ipv6Addr};

use crate::config::{
    ServeArgs, DEV_COURIER_SECRET, DEV_JWT_SECRET, MIN_DISTINCT_CHARS, MIN_SECRET_CHARS,
};

/// A setting as an operator sets it: its flag and its environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The flag (`--jwt-secret`).
    pub flag: &'static str,
    /// The environment variable (`OMS_JWT_SECRET`; `OMS_JWT_SECRET_FILE` reads it from a file).
    pub env: &'static str,
}

impl std::fmt::Display for Setting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.flag, self.env)
    }
}

/// A setting that must not face a network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsafe {
    /// The offending setting.
    pub setting: Setting,
    /// Why it is unsafe (`sslmode is prefer: a plain-text connection to db.internal`).
    pub why: String,
    /// What to do about it.
    pub fix: String,
    /// Refused on loopback too (an empty secret protects nothing even on a laptop); the rest
    /// are allowed on loopback with a warning.
    pub even_on_loopback: bool,
}

impl std::fmt::Display for Unsafe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}; {}", self.setting, self.why, self.fix)
    }
}

const JWT_SECRET: Setting = Setting {
    flag: "--jwt-secret",
    env: "OMS_JWT_SECRET",
};
const COURIER_SECRET: Setting = Setting {
    flag: "--courier-webhook-secret",
    env: "OMS_COURIER_WEBHOOK_SECRET",
};
const DEMO: Setting = Setting {
    flag: "--demo",
    env: "OMS_DEMO",
};
const OIDC_ISSUER: Setting = Setting {
    flag: "--oidc-issuer",
    env: "OMS_OIDC_ISSUER",
};
const DATABASE_URL: Setting = Setting {
    flag: "--database-url",
    env: "OMS_DATABASE_URL",
};
const READ_DATABASE_URL: Setting = Setting {
    flag: "--read-database-url",
    env: "OMS_READ_DATABASE_URL",
};
const PAYMENT_GATEWAY: Setting = Setting {
    flag: "--payment-gateway",
    env: "OMS_PAYMENT_GATEWAY",
};
const PAYMENT_GATEWAY_URL: Setting = Setting {
    flag: "--payment-gateway-url",
    env: "OMS_PAYMENT_GATEWAY_URL",
};
const COURIER_URL: Setting = Setting {
    flag: "--courier-url",
    env: "OMS_COURIER_URL",
};
const ALIMTALK_URL: Setting = Setting {
    flag: "--alimtalk-url",
    env: "OMS_ALIMTALK_URL",
};
const SMTP_URL: Setting = Setting {
    flag: "--smtp-url",
    env: "OMS_SMTP_URL",
};
const NATS_URL: Setting = Setting {
    flag: "--nats-url",
    env: "OMS_NATS_URL",
};
const WEBHOOK_ALLOW_NETWORKS: Setting = Setting {
    flag: "--webhook-allow-networks",
    env: "OMS_WEBHOOK_ALLOW_NETWORKS",
};

/// Every setting of `args` that is unsafe for production, in the order of `--help`.
pub fn unsafe_settings(args: &ServeArgs) -> Vec<Unsafe> {
    let mut found = Vec::new();
    // Beside an identity provider, HS256 tokens are accepted only with the explicit opt-in
    // `--oidc-allow-hs256` (the verifier refuses them otherwise): only then does the shared
    // secret sign anything the server trusts, and only then must it be strong.
    let oidc = &args.auth.oidc;
    let hs256_accepted = oidc.oidc_issuer.is_none() || oidc.oidc_allow_hs256;
    if hs256_accepted {
        found.extend(weak_secret(
            JWT_SECRET,
            &args.auth.jwt_secret,
            DEV_JWT_SECRET,
        ));
    }
    found.extend(weak_secret(
        COURIER_SECRET,
        &args.courier_webhook_secret,
        DEV_COURIER_SECRET,
    ));
    if let Err(why) = oidc.config() {
        found.push(Unsafe {
            setting: OIDC_ISSUER,
            why,
            fix: "give the identity provider's flags together (README, \"Signing in with your \
                  identity provider\")"
                .to_owned(),
            even_on_loopback: true,
        });
    }
    if args.demo {
        found.push(Unsafe {
            setting: DEMO,
            why: "seeds a demo marketplace and prints OPERATOR, ANALYST, SELLER and CUSTOMER \
                  tokens on standard output, into the logs"
                .to_owned(),
            fix: "remove --demo (unset OMS_DEMO)".to_owned(),
            even_on_loopback: false,
        });
    }
    found.extend(gateway_mismatch(args));
    if args.payment_gateway == crate::config::GatewayKind::Simulated {
        found.push(Unsafe {
            setting: PAYMENT_GATEWAY,
            why: "the built-in simulator confirms any payment key: orders would be paid with no \
                  money behind them, and refunds would go nowhere"
                .to_owned(),
            fix: "use --payment-gateway toss with the shop's secret key in \
                  OMS_PAYMENT_GATEWAY_SECRET_KEY_FILE (README, \"Payments\")"
                .to_owned(),
            even_on_loopback: false,
        });
    }
    found.extend(plain_postgres(DATABASE_URL, &args.database.database_url));
    if let Some(url) = &args.database.read_database_url {
        found.extend(plain_postgres(READ_DATABASE_URL, url));
    }
    for (setting, url) in [
        (PAYMENT_GATEWAY_URL, &args.payment_gateway_url),
        (COURIER_URL, &args.courier_url),
        (ALIMTALK_URL, &args.outbox.alimtalk_url),
    ] {
        if let Some(url) = url {
            found.extend(plain_http(setting, url));
        }
    }
    if let Some(url) = &args.outbox.smtp_url {
        found.extend(plain_smtp(url));
    }
    if let Some(url) = &args.outbox.nats_url {
        found.extend(plain_nats(url));
    }
    let allowed = args.outbox.webhook_allow_networks.networks();
    if !allowed.is_empty() {
        let list: Vec<String> = allowed.iter().map(ToString::to_string).collect();
        found.push(Unsafe {
            setting: WEBHOOK_ALLOW_NETWORKS,
            why: format!(
                "partner webhooks may reach {}, networks that are otherwise refused as internal",
                list.join(", ")
            ),
            fix: "leave it empty: it is for development and test receivers only".to_owned(),
            even_on_loopback: false,
        });
    }
    found
}

/// Payment gateway flags that cannot work together: the server refuses them anywhere.
fn gateway_mismatch(args: &ServeArgs) -> Option<Unsafe> {
    use crate::config::GatewayKind;
    let (why, fix) = match args.payment_gateway {
        GatewayKind::Simulated => {
            let url = args.payment_gateway_url.as_deref()?;
            (
                format!(
                    "--payment-gateway-url {} is set, but for the built-in simulator",
                    redacted_url(url)
                ),
                "add --payment-gateway toss and its secret key, or drop the URL",
            )
        }
        GatewayKind::Toss => {
            let key = args
                .payment_gateway_secret_key
                .as_deref()
                .unwrap_or_default();
            if key.trim().is_empty() {
                (
                    "Toss Payments needs the shop's secret key, and none is set".to_owned(),
                    "set OMS_PAYMENT_GATEWAY_SECRET_KEY_FILE to a file holding it",
                )
            } else if args.demo {
                (
                    "--demo pays its orders with payment keys only the built-in simulator knows"
                        .to_owned(),
                    "leave out --payment-gateway toss for the demo",
                )
            } else {
                return None;
            }
        }
    };
    Some(Unsafe {
        setting: PAYMENT_GATEWAY,
        why,
        fix: fix.to_owned(),
        even_on_loopback: true,
    })
}

/// A secret no one should trust beyond this machine: a value published in this repository
/// (anyone could forge an OPERATOR token or a courier's tracking event with it), an empty one,
/// one shorter than [`MIN_SECRET_CHARS`] characters or with fewer than [`MIN_DISTINCT_CHARS`]
/// different ones (guessable offline from one token).
fn weak_secret(setting: Setting, value: &str, published: &str) -> Option<Unsafe> {
    let why = if value == published {
        "the published development default"
    } else if value.is_empty() {
        "empty"
    } else if value.chars().count() < MIN_SECRET_CHARS {
        "shorter than 32 characters"
    } else if distinct(value) < MIN_DISTINCT_CHARS {
        "made of fewer than 10 different characters"
    } else {
        return None;
    };
    Some(Unsafe {
        setting,
        why: why.to_owned(),
        fix: format!(
            "set a secret of your own of at least {MIN_SECRET_CHARS} characters (`oms secret` \
             prints a strong one), e.g. in a file named by {}_FILE",
            setting.env
        ),
        even_on_loopback: value.is_empty(),
    })
}

fn distinct(value: &str) -> usize {
    value
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<std::collections::HashSet<_>>()
        .len()
}

/// True for a host on this machine: `localhost`, `127.0.0.0/8` and `::1` (bracketed or not).
pub fn is_loopback_host(host: &str) -> bool {
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(IpAddr::V6(v6)) => v6 == Ipv6Addr::LOCALHOST,
        Err(_) => false,
    }
}

/// The parts of `scheme://[userinfo@]host[:port][,host[:port]...][/path][?query]` this module
/// reads. Written by hand because PostgreSQL and NATS URLs may list several hosts, which a
/// URL parser refuses.
struct Parts<'a> {
    scheme: String,
    /// Each host without its port or brackets (`::1`); empty for `postgres:///db`.
    hosts: Vec<&'a str>,
    /// The query's pairs, percent-decoded.
    query: Vec<(String, String)>,
}

fn parts(url: &str) -> Option<Parts<'_>> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let after = &rest[end..];
    let query = after
        .split_once('?')
        .map(|(_, q)| q.split('#').next().unwrap_or_default())
        .unwrap_or_default();
    let hostports = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let hosts = hostports.split(',').map(without_port).collect();
    Some(Parts {
        scheme: scheme.to_ascii_lowercase(),
        hosts,
        query: url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
    })
}

fn without_port(hostport: &str) -> &str {
    if let Some(v6) = hostport.strip_prefix('[') {
        return v6.split(']').next().unwrap_or_default();
    }
    match hostport.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => hostport,
    }
}

impl Parts<'_> {
    /// The last value of `key` in the query (what the clients read), if any.
    fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The hosts that are not on this machine.
    fn remote_hosts(&self) -> Vec<&str> {
        self.hosts
            .iter()
            .copied()
            .filter(|h| !h.is_empty() && !is_loopback_host(h))
            .collect()
    }
}

/// A unix-socket host of a PostgreSQL URL: a path, percent-encoded in the authority
/// (`%2Fvar%2Frun%2Fpostgresql`) or plain in `host=`.
fn is_socket(host: &str) -> bool {
    host.starts_with('/') || host.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("%2f"))
}

/// A PostgreSQL URL that talks to another machine without requiring TLS: `sslmode` absent,
/// `disable`, `allow` or `prefer` (the last two fall back to plain text, so anyone on the path
/// can strip TLS). `host=` / `hostaddr=` in the query replace the URL's host, as in sqlx.
fn plain_postgres(setting: Setting, url: &str) -> Option<Unsafe> {
    let parts = parts(url)?;
    if !matches!(parts.scheme.as_str(), "postgres" | "postgresql") {
        return None;
    }
    let overridden = parts.param("hostaddr").or(parts.param("host"));
    let remote: Vec<String> = match overridden {
        Some(host) if is_socket(host) || is_loopback_host(host) => Vec::new(),
        Some(host) => vec![host.to_owned()],
        None => parts
            .remote_hosts()
            .into_iter()
            .filter(|h| !is_socket(h))
            .map(str::to_owned)
            .collect(),
    };
    if remote.is_empty() {
        return None;
    }
    let mode = parts.param("sslmode");
    if matches!(mode, Some("require" | "verify-ca" | "verify-full")) {
        return None;
    }
    let mode = match mode {
        None => "absent (sqlx then prefers TLS but falls back to plain text)".to_owned(),
        Some(m @ ("disable" | "allow" | "prefer")) => format!("{m}: TLS is not required"),
        Some(other) => format!("`{other}`, not a mode that requires TLS"),
    };
    Some(Unsafe {
        setting,
        why: format!(
            "a plain-text connection to {}: sslmode is {mode}",
            remote.join(", ")
        ),
        fix: "add sslmode=verify-full (or verify-ca, require) to the URL".to_owned(),
        even_on_loopback: false,
    })
}

/// An `http://` partner URL to another machine: requests (refund amounts, payment references,
/// customers' phone numbers) and answers travel in plain text.
fn plain_http(setting: Setting, url: &str) -> Option<Unsafe> {
    let parts = parts(url)?;
    if parts.scheme != "http" {
        return None;
    }
    let remote = parts.remote_hosts();
    if remote.is_empty() {
        return None;
    }
    Some(Unsafe {
        setting,
        why: format!("plain HTTP to {}", remote.join(", ")),
        fix: "use an https:// URL".to_owned(),
        even_on_loopback: false,
    })
}

/// A mail relay on another machine reached without TLS: `smtp://` without `?tls=required`
/// (STARTTLS that may be skipped is as good as none).
fn plain_smtp(url: &str) -> Option<Unsafe> {
    // The mailer's own reading of the URL decides: what it refuses, the server refuses at start.
    let relay = match crate::notify::channels::SmtpUrl::parse(url) {
        Ok(relay) => relay,
        Err(why) => {
            return Some(Unsafe {
                setting: SMTP_URL,
                why,
                fix: "write the URL as --help shows".to_owned(),
                even_on_loopback: true,
            })
        }
    };
    let parts = parts(url)?;
    if relay.security != crate::notify::channels::SmtpSecurity::Plain {
        return None;
    }
    let remote = parts.remote_hosts();
    if remote.is_empty() {
        return None;
    }
    Some(Unsafe {
        setting: SMTP_URL,
        why: format!(
            "plain SMTP to {} (STARTTLS not required): mails and the relay's password travel \
             readable",
            remote.join(", ")
        ),
        fix: "use smtps://host:465 (implicit TLS) or smtp://host:587?tls=required (STARTTLS)"
            .to_owned(),
        even_on_loopback: false,
    })
}

/// NATS servers on other machines reached without TLS: `nats://` (or no scheme, which means
/// `nats://`) or `ws://`; the list may name several servers, comma-separated.
fn plain_nats(urls: &str) -> Option<Unsafe> {
    let mut remote = Vec::new();
    for server in urls.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let with_scheme = if server.contains("://") {
            server.to_owned()
        } else {
            format!("nats://{server}")
        };
        let Some(parts) = parts(&with_scheme) else {
            continue;
        };
        if matches!(parts.scheme.as_str(), "tls" | "wss") {
            continue;
        }
        remote.extend(parts.remote_hosts().into_iter().map(str::to_owned));
    }
    if remote.is_empty() {
        return None;
    }
    Some(Unsafe {
        setting: NATS_URL,
        why: format!(
            "plain-text NATS to {}: every event and the credentials travel readable",
            remote.join(", ")
        ),
        fix: "use tls://host:4222".to_owned(),
        even_on_loopback: false,
    })
}

/// Where a setting's value came from; `None` when it has none.
fn source(
    matches: &clap::ArgMatches,
    id: &str,
    env: Option<&str>,
    from_files: &[crate::env_files::Loaded],
) -> Option<String> {
    Some(match matches.value_source(id)? {
        clap::parser::ValueSource::CommandLine => "flag".to_owned(),
        clap::parser::ValueSource::EnvVariable => {
            let env = env.unwrap_or_default();
            match from_files.iter().find(|l| l.name == env) {
                Some(l) => format!("{env}_FILE={}", l.path.display()),
                None => env.to_owned(),
            }
        }
        clap::parser::ValueSource::DefaultValue => "default".to_owned(),
        // A source clap adds later is still worth showing.
        other => format!("{other:?}"),
    })
}

/// A setting's value as `--check-config` shows it: secrets as their length, passwords and
/// tokens in URLs hidden.
fn shown(arg: &clap::Arg, matches: &clap::ArgMatches) -> String {
    let id = arg.get_id().as_str();
    let values: Vec<String> = match matches.try_get_raw(id) {
        Ok(Some(raw)) => raw.map(|v| v.to_string_lossy().into_owned()).collect(),
        _ => return "(unset)".to_owned(),
    };
    let value = values.join(",");
    if value.is_empty() {
        return "(empty)".to_owned();
    }
    if arg.is_hide_env_values_set() {
        return format!("*** ({} characters)", value.chars().count());
    }
    value
        .split(',')
        .map(redacted_url)
        .collect::<Vec<_>>()
        .join(",")
}

/// `url` with the password of its user information (`user:***@`), a bare user information
/// (a NATS token: `***@`) and `password=` in its query hidden; anything that is no URL as it
/// is.
pub fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None if matches!(
                scheme.to_ascii_lowercase().as_str(),
                "nats" | "tls" | "ws" | "wss"
            ) =>
            {
                format!("***@{host}")
            }
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let hidden: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if secret_parameter(k) => format!("{k}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", hidden.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// Query parameters that carry a secret by their name (`password=`, `apikey=`, `token=`,
/// `sslkey=` is a path and stays).
fn secret_parameter(name: &str) -> bool {
    const SECRET: [&str; 12] = [
        "password",
        "passwd",
        "pwd",
        "pass",
        "secret",
        "token",
        "access_token",
        "apikey",
        "api_key",
        "key",
        "signature",
        "sig",
    ];
    let name = name.to_ascii_lowercase();
    SECRET.contains(&name.as_str()) || name.ends_with("_token") || name.ends_with("_secret")
}

/// What `oms serve --check-config` prints for `serve` (the subcommand's definition) parsed as
/// `matches` into `args`: every setting, its value (secrets hidden) and where it came from
/// (`flag`, the environment variable, its `_FILE`, `default`), then what is unsafe for
/// production. The text, and whether anything is unsafe.
pub fn check_config(
    serve: &clap::Command,
    matches: &clap::ArgMatches,
    args: &ServeArgs,
    from_files: &[crate::env_files::Loaded],
) -> (String, bool) {
    let mut out = String::from("oms serve would use:\n");
    for arg in serve.get_arguments() {
        let id = arg.get_id().as_str();
        let Some(long) = arg.get_long() else {
            continue;
        };
        if id == "check_config" {
            continue;
        }
        let env = arg.get_env().and_then(|e| e.to_str());
        let name = match env {
            Some(env) => format!("--{long} ({env})"),
            None => format!("--{long}"),
        };
        let from_file = env.is_some_and(|env| from_files.iter().any(|l| l.name == env));
        let value = shown(arg, matches);
        // A file holds a secret (hidden already) or a URL (its password hidden); anything else
        // read from one is shown as little as a secret: a `_FILE` pointing at the wrong file
        // must not print that file.
        let value = if from_file && !value.contains("://") && !value.starts_with("***") {
            "*** (read from the file)".to_owned()
        } else {
            value
        };
        let line = match source(matches, id, env, from_files) {
            Some(from) => format!("  {name} = {value}  [{from}]\n"),
            None => format!("  {name} (unset)\n"),
        };
        out.push_str(&line);
    }
    let found = unsafe_settings(args);
    if found.is_empty() {
        out.push_str("\nNothing is unsafe for production.\n");
    } else {
        out.push_str(&format!("\nUnsafe for production ({}):\n", found.len()));
        for u in &found {
            out.push_str(&format!("  - {u}\n"));
        }
        let verdict = if args.refuse_unsafe().is_err() {
            format!(
                "`oms serve` refuses to start on {} with these.",
                args.listen
            )
        } else {
            format!(
                "`oms serve` starts on {} (loopback) with a warning, and refuses these on any \
                 other address.",
                args.listen
            )
        };
        out.push_str(&verdict);
        out.push('\n');
    }
    (out, !found.is_empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use clap::{CommandFactory, FromArgMatches, Parser};

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    const JWT: &str = "0123456789abcdefghijklmnopqrstuvwxyz";
    const COURIER: &str = "another-of-our-own-long-enough-too";

    /// `oms serve` with strong secrets, a real payment gateway and `extra` flags; what is
    /// unsafe, as `flag: why`.
    fn unsafe_with(extra: &[&str]) -> Vec<String> {
        let mut argv = vec!["oms"];
        // The strong secrets and the gateway, unless `extra` sets one itself.
        for (flag, value) in [
            ("--jwt-secret", JWT),
            ("--courier-webhook-secret", COURIER),
            ("--payment-gateway", "toss"),
            ("--payment-gateway-secret-key", "test_sk_our_own"),
        ] {
            let given = |a: &&str| *a == flag || a.starts_with(&format!("{flag}="));
            if !extra.iter().any(given) {
                argv.extend([flag, value]);
            }
        }
        argv.extend_from_slice(extra);
        let cli = Cli::try_parse_from(argv).unwrap();
        unsafe_settings(&cli.serve)
            .iter()
            .map(|u| format!("{}: {}", u.setting.flag, u.why))
            .collect()
    }

    fn is_safe(extra: &[&str]) -> bool {
        unsafe_with(extra).is_empty()
    }

    #[test]
    fn strong_secrets_and_the_defaults_are_safe() {
        assert!(is_safe(&[]), "{:?}", unsafe_with(&[]));
        assert!(is_safe(&["--listen", "0.0.0.0:8080"]));
    }

    #[test]
    fn the_payment_simulator_is_for_development_only() {
        let found = unsafe_with(&["--payment-gateway", "simulated"]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("--payment-gateway: the built-in simulator confirms any"),
            "{found:?}"
        );
        let cli = Cli::try_parse_from(["oms", "--payment-gateway", "simulated"]).unwrap();
        let simulator = unsafe_settings(&cli.serve)
            .into_iter()
            .find(|u| u.setting.flag == "--payment-gateway")
            .unwrap();
        assert!(!simulator.even_on_loopback, "the demo runs on loopback");
    }

    #[test]
    fn gateway_flags_that_cannot_work_are_refused_everywhere() {
        for (argv, says) in [
            (
                &[
                    "--payment-gateway",
                    "toss",
                    "--payment-gateway-secret-key",
                    " ",
                ][..],
                "Toss Payments needs the shop's secret key",
            ),
            (
                &[
                    "--payment-gateway",
                    "toss",
                    "--payment-gateway-secret-key",
                    "k",
                    "--demo",
                ][..],
                "--demo pays",
            ),
            (
                &["--payment-gateway-url", "http://127.0.0.1:9"][..],
                "is set, but for the built-in simulator",
            ),
        ] {
            let cli = Cli::try_parse_from([&["oms"][..], argv].concat()).unwrap();
            let found = unsafe_settings(&cli.serve);
            let refused = found
                .iter()
                .find(|u| u.setting.flag == "--payment-gateway" && u.why.contains(says));
            assert!(
                refused.is_some_and(|u| u.even_on_loopback),
                "{argv:?}: {found:?}"
            );
        }
        let argv = [
            "oms",
            "--payment-gateway",
            "toss",
            "--payment-gateway-secret-key",
            "k",
        ];
        let cli = Cli::try_parse_from(argv).unwrap();
        assert!(gateway_mismatch(&cli.serve).is_none());
    }

    #[test]
    fn loopback_hosts() {
        for host in [
            "localhost",
            "LocalHost",
            "127.0.0.1",
            "127.255.255.254",
            "::1",
            "[::1]",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "10.0.0.5",
            "128.0.0.1",
            "0.0.0.0",
            "::",
            "[::2]",
            "db.example.com",
            "localhost.example.com",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn weak_secrets_at_the_limits() {
        let published = unsafe_with(&["--jwt-secret", DEV_JWT_SECRET]);
        assert_eq!(
            published,
            ["--jwt-secret: the published development default"]
        );
        let courier = unsafe_with(&["--courier-webhook-secret", DEV_COURIER_SECRET]);
        assert_eq!(
            courier,
            ["--courier-webhook-secret: the published development default"]
        );
        assert_eq!(unsafe_with(&["--jwt-secret="]), ["--jwt-secret: empty"]);
        // 32 characters are enough, 31 are not.
        let at = "0123456789abcdefghijklmnopqrstuv";
        assert_eq!(at.chars().count(), 32);
        assert!(is_safe(&["--jwt-secret", at]));
        assert_eq!(
            unsafe_with(&["--jwt-secret", &at[..31]]),
            ["--jwt-secret: shorter than 32 characters"]
        );
        // 10 different characters are enough, 9 are not.
        let ten = "0123456789".repeat(4);
        assert!(is_safe(&["--jwt-secret", &ten]));
        let nine = "012345678".repeat(4);
        assert_eq!(
            unsafe_with(&["--jwt-secret", &nine]),
            ["--jwt-secret: made of fewer than 10 different characters"]
        );
    }

    #[test]
    fn only_an_empty_secret_is_refused_on_loopback_too() {
        let cli = Cli::try_parse_from(["oms", "--jwt-secret=", "--demo"]).unwrap();
        let found = unsafe_settings(&cli.serve);
        let everywhere: Vec<&str> = found
            .iter()
            .filter(|u| u.even_on_loopback)
            .map(|u| u.setting.flag)
            .collect();
        assert_eq!(everywhere, ["--jwt-secret"]);
        // The secrets, the demo and the payment simulator.
        assert_eq!(found.len(), 4, "{found:?}");
    }

    #[test]
    fn demo_is_unsafe() {
        // The demo runs on the simulator, which is unsafe too.
        let found = unsafe_with(&["--demo", "--payment-gateway", "simulated"]);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("--demo: "), "{found:?}");
    }

    #[test]
    fn postgres_needs_tls_beyond_this_machine() {
        let remote = "postgres://oms:pw@10.0.0.5:5432/oms";
        for mode in ["", "?sslmode=disable", "?sslmode=allow", "?sslmode=prefer"] {
            let url = format!("{remote}{mode}");
            let found = unsafe_with(&["--database-url", &url]);
            assert_eq!(found.len(), 1, "{url}: {found:?}");
            assert!(
                found[0].starts_with("--database-url: a plain-text connection to 10.0.0.5"),
                "{found:?}"
            );
            // The password is never part of the reason.
            assert!(!found[0].contains("pw"), "{found:?}");
        }
        for mode in ["require", "verify-ca", "verify-full"] {
            let url = format!("{remote}?sslmode={mode}");
            assert!(is_safe(&["--database-url", &url]), "{url}");
            let url = format!("postgresql://db.example.com/oms?application_name=x&sslmode={mode}");
            assert!(is_safe(&["--database-url", &url]), "{url}");
        }
        // The last sslmode counts, as in the client.
        assert!(!is_safe(&[
            "--database-url",
            "postgres://10.0.0.5/oms?sslmode=require&sslmode=prefer"
        ]));
        assert!(!is_safe(&[
            "--database-url",
            "postgres://10.0.0.5/oms?sslmode=required"
        ]));
    }

    #[test]
    fn postgres_on_this_machine_is_safe_in_plain_text() {
        for url in [
            "postgres://postgres@127.0.0.1:5432/postgres",
            "postgres://postgres@localhost/postgres?sslmode=disable",
            "postgres://postgres@[::1]:5432/postgres",
            "postgres:///oms",
            "postgres://%2Fvar%2Frun%2Fpostgresql/oms",
            "postgres://oms@/oms?host=/var/run/postgresql",
            "postgres://oms@10.0.0.5/oms?host=/var/run/postgresql",
            "postgres://oms@db.example.com/oms?host=127.0.0.1",
            "sqlite://oms.db?mode=rwc",
            "sqlite::memory:",
        ] {
            assert!(is_safe(&["--database-url", url]), "{url}");
        }
        // `host=` replaces a local host with a remote one.
        let found = unsafe_with(&["--database-url", "postgres://127.0.0.1/oms?host=10.0.0.5"]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("10.0.0.5"), "{found:?}");
        // A second host that is remote counts.
        assert!(!is_safe(&[
            "--database-url",
            "postgres://127.0.0.1:5432,10.0.0.6:5432/oms"
        ]));
    }

    #[test]
    fn the_read_replica_is_judged_like_the_database() {
        let found = unsafe_with(&[
            "--read-database-url",
            "postgres://replica.internal/oms?sslmode=prefer",
        ]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("--read-database-url: "), "{found:?}");
        assert!(is_safe(&[
            "--read-database-url",
            "postgres://replica.internal/oms?sslmode=verify-full"
        ]));
    }

    #[test]
    fn partners_need_https_beyond_this_machine() {
        for flag in ["--payment-gateway-url", "--courier-url", "--alimtalk-url"] {
            let found = unsafe_with(&[flag, "http://10.0.0.5:9000"]);
            assert_eq!(found.len(), 1, "{flag}: {found:?}");
            assert_eq!(found[0], format!("{flag}: plain HTTP to 10.0.0.5"));
            assert!(!is_safe(&[flag, "HTTP://gateway.example.com/"]), "{flag}");
            for ok in [
                "https://gateway.example.com",
                "http://127.0.0.1:9000",
                "http://localhost:9000/",
                "http://[::1]:9000",
                "http://user:pw@127.0.0.1:9000",
            ] {
                assert!(is_safe(&[flag, ok]), "{flag} {ok}");
            }
        }
    }

    #[test]
    fn smtp_needs_implicit_tls_or_required_starttls() {
        // What the mailer itself refuses is listed too, on loopback as well.
        for invalid in [
            "smtp://user:pw@127.0.0.1:25",
            "smtp://mail.example.com?tls=none&tls=required",
            "smtp://mail.example.com:587?tls=opportunistic",
        ] {
            let found = unsafe_with(&["--smtp-url", invalid]);
            assert_eq!(found.len(), 1, "{invalid}: {found:?}");
            assert!(found[0].contains("invalid SMTP URL"), "{found:?}");
            assert!(!found[0].contains("pw@"), "{found:?}");
        }
        let found = unsafe_with(&["--smtp-url", "smtp://mail.example.com:25"]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("--smtp-url: plain SMTP"), "{found:?}");
        for ok in [
            "smtps://mail.example.com:465",
            "smtp://mail.example.com:587?tls=required",
            "smtp://127.0.0.1:25",
            "smtp://localhost",
            "smtp://[::1]:2525",
        ] {
            assert!(is_safe(&["--smtp-url", ok]), "{ok}");
        }
    }

    #[test]
    fn nats_needs_tls_beyond_this_machine() {
        for bad in [
            "nats://10.0.0.5:4222",
            "10.0.0.5:4222",
            "tls://a.example.com:4222,nats://b.example.com:4222",
            "ws://nats.example.com:80",
        ] {
            let found = unsafe_with(&["--nats-url", bad]);
            assert_eq!(found.len(), 1, "{bad}: {found:?}");
            assert!(
                found[0].starts_with("--nats-url: plain-text NATS"),
                "{found:?}"
            );
        }
        for ok in [
            "tls://nats.example.com:4222",
            "wss://nats.example.com",
            "nats://127.0.0.1:4222",
            "nats://localhost:4222,nats://[::1]:4222",
        ] {
            assert!(is_safe(&["--nats-url", ok]), "{ok}");
        }
    }

    #[test]
    fn allowing_internal_webhook_networks_is_unsafe() {
        let found = unsafe_with(&["--webhook-allow-networks", "127.0.0.0/8"]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("127.0.0.0/8"), "{found:?}");
        assert!(is_safe(&["--webhook-allow-networks", ""]));
    }

    #[test]
    fn the_shared_secret_counts_only_while_it_signs_accepted_tokens() {
        let issuer = [
            "--oidc-issuer",
            "https://id.example.com",
            "--oidc-audience",
            "oms",
        ];
        // Beside a provider without the opt-in, HS256 tokens are refused: the secret signs
        // nothing the server accepts, so a default one is no risk.
        let mut beside = issuer.to_vec();
        beside.extend(["--jwt-secret", DEV_JWT_SECRET]);
        assert!(is_safe(&beside), "{:?}", unsafe_with(&beside));
        // With the opt-in, the secret must be strong again.
        beside.push("--oidc-allow-hs256");
        let found = unsafe_with(&beside);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("--jwt-secret"), "{found:?}");
        // Provider flags that do not fit together are listed, even on loopback.
        let found = unsafe_with(&["--oidc-audience", "oms"]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("need --oidc-issuer"), "{found:?}");
    }

    #[test]
    fn urls_are_shown_without_passwords() {
        for (url, shown) in [
            (
                "postgres://oms:hunter2@db:5432/oms?sslmode=require",
                "postgres://oms:***@db:5432/oms?sslmode=require",
            ),
            (
                "postgres://oms:p@ss:w0rd@db/oms",
                "postgres://oms:***@db/oms",
            ),
            (
                "postgres://oms@db/oms?password=hunter2&sslmode=require",
                "postgres://oms@db/oms?password=***&sslmode=require",
            ),
            ("nats://s3cr3t@10.0.0.1:4222", "nats://***@10.0.0.1:4222"),
            (
                "smtp://mailer:pw@mail:587?tls=required",
                "smtp://mailer:***@mail:587?tls=required",
            ),
            ("sqlite://oms.db?mode=rwc", "sqlite://oms.db?mode=rwc"),
            (
                "https://gateway.example.com/v1",
                "https://gateway.example.com/v1",
            ),
            ("web/node_modules", "web/node_modules"),
            (
                "https://courier.example.com/v1?apikey=K3y&region=kr&access_token=t0k",
                "https://courier.example.com/v1?apikey=***&region=kr&access_token=***",
            ),
        ] {
            assert_eq!(redacted_url(url), shown, "{url}");
        }
    }

    #[test]
    fn check_config_hides_secrets_and_says_where_values_came_from() {
        let argv = [
            "oms",
            "--jwt-secret",
            JWT,
            "--courier-webhook-secret",
            COURIER,
            "--alimtalk-sender-key",
            "sender-key-1234",
            "--database-url",
            "postgres://oms:hunter2@db.example.com/oms?sslmode=verify-full",
            "--smtp-url",
            "smtps://mailer:mailpw@mail.example.com:465",
            "--nats-url",
            "tls://natstoken@nats.example.com:4222",
            "--payment-gateway",
            "toss",
            "--payment-gateway-secret-key",
            "live_sk_tossSecret42",
        ];
        let command = Cli::command();
        let matches = command.clone().try_get_matches_from(argv).unwrap();
        let cli = Cli::from_arg_matches(&matches).unwrap();
        let (text, any_unsafe) = check_config(&command, &matches, &cli.serve, &[]);
        assert!(!any_unsafe, "{text}");
        assert!(text.contains("Nothing is unsafe for production."), "{text}");
        for secret in [
            JWT,
            COURIER,
            "sender-key-1234",
            "hunter2",
            "mailpw",
            "natstoken",
            "live_sk_tossSecret42",
        ] {
            assert!(!text.contains(secret), "{secret} shown: {text}");
        }
        assert!(
            text.contains(&format!(
                "--jwt-secret (OMS_JWT_SECRET) = *** ({} characters)  [flag]",
                JWT.len()
            )),
            "{text}"
        );
        assert!(
            text.contains("--listen (OMS_LISTEN) = 127.0.0.1:8080  [default]"),
            "{text}"
        );
        assert!(text.contains("--read-database-url (OMS_READ_DATABASE_URL) (unset)"));
        assert!(!text.contains("--check-config"), "{text}");

        let argv = ["oms", "--demo", "--listen", "0.0.0.0:8080"];
        let matches = command.clone().try_get_matches_from(argv).unwrap();
        let cli = Cli::from_arg_matches(&matches).unwrap();
        let (text, any_unsafe) = check_config(&command, &matches, &cli.serve, &[]);
        assert!(any_unsafe);
        assert!(text.contains("Unsafe for production (4):"), "{text}");
        assert!(text.contains("  - --demo (OMS_DEMO): "), "{text}");
        assert!(text.contains("refuses to start on 0.0.0.0:8080"), "{text}");
    }
}
