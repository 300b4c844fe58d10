//! Where a partner webhook may point: the rules that keep a seller from aiming deliveries at
//! the marketplace's own network (SSRF). Pure: no I/O, no DNS — `webhook_client` applies them
//! to resolved addresses, registration and every delivery attempt apply them to the URL.
//!
//! - A URL is `https://`, names its host right after the `//`, and carries no credentials.
//!   Plain `http://` reaches only addresses in the [`AllowList`] (development receivers): a
//!   literal address is checked here, a name's addresses when it is resolved.
//! - A host name is fully qualified and not a local name (`localhost`, `*.local`,
//!   `*.internal`, ...): those mean something only inside a network, whatever they resolve to.
//! - An address is refused when it is loopback, private, shared (CGNAT), link-local (cloud
//!   metadata lives there), unique-local, unspecified, multicast, broadcast, documentation or
//!   otherwise reserved — in every notation: the URL parser turns `2130706433`, `0x7f000001`,
//!   `0177.0.0.1` and `127.1` into `127.0.0.1`, and IPv6 forms that carry an IPv4 address
//!   (IPv4-mapped, NAT64, 6to4) are judged by the address they carry.
//! - An [`AllowList`] of networks (`--webhook-allow-networks`, empty by default) lets
//!   development and test receivers on such addresses through.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use url::Url;

/// Why an address may not receive webhooks: the kind of range it is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocked {
    /// `127.0.0.0/8`, `::1`: this machine.
    Loopback,
    /// `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`, local-use NAT64 `64:ff9b:1::/48`.
    Private,
    /// `100.64.0.0/10`: carrier-grade NAT.
    Shared,
    /// `169.254.0.0/16` (cloud metadata services), `fe80::/10`.
    LinkLocal,
    /// `fc00::/7`.
    UniqueLocal,
    /// `0.0.0.0/8` (which reaches this machine on Linux), `::`.
    Unspecified,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24`, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// Everything else that is not a public unicast address: `240.0.0.0/4`, `192.0.0.0/24`,
    /// benchmarking `198.18.0.0/15`, IETF assignments `2001::/23` (Teredo, ...), IPv6 outside
    /// `2000::/3`.
    Reserved,
}

impl fmt::Display for Blocked {
    /// The coarse name a seller sees: `private network`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Blocked::Loopback => "loopback",
            Blocked::Private => "private network",
            Blocked::Shared => "shared address space (carrier-grade NAT)",
            Blocked::LinkLocal => "link-local",
            Blocked::UniqueLocal => "unique-local network",
            Blocked::Unspecified => "unspecified address",
            Blocked::Multicast => "multicast",
            Blocked::Broadcast => "broadcast",
            Blocked::Documentation => "documentation range",
            Blocked::Reserved => "reserved range",
        })
    }
}

/// A range of addresses: `10.0.0.0/8`, `::1/128`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Network {
        Network {
            addr: IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
            prefix,
        }
    }

    const fn v6(segments: [u16; 8], prefix: u8) -> Network {
        let [a, b, c, d, e, f, g, h] = segments;
        Network {
            addr: IpAddr::V6(Ipv6Addr::new(a, b, c, d, e, f, g, h)),
            prefix,
        }
    }

    /// True when `ip` is in this range (an IPv4 range never holds an IPv6 address: callers
    /// unwrap IPv4-mapped addresses first).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u128::from(net.to_bits()), self.prefix, 32)
                    == masked(u128::from(ip.to_bits()), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(net.to_bits(), self.prefix, 128) == masked(ip.to_bits(), self.prefix, 128)
            }
            _ => false,
        }
    }
}

/// The top `prefix` bits of a `width`-bit number.
fn masked(bits: u128, prefix: u8, width: u8) -> u128 {
    let host_bits = u32::from(width.saturating_sub(prefix));
    bits.checked_shr(host_bits)
        .unwrap_or(0)
        .checked_shl(host_bits)
        .unwrap_or(0)
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for Network {
    type Err = String;

    /// `10.0.0.0/8`, `::1/128`, or a lone address (`/32`, `/128`). Host bits set
    /// (`10.0.0.1/8`) are refused: the range meant is ambiguous.
    fn from_str(s: &str) -> Result<Network, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{s}` is not a network: write 127.0.0.0/8 or ::1/128"))?;
        let width = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => width,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= width)
                .ok_or_else(|| format!("`{s}`: the prefix length must be 0 to {width}"))?,
        };
        let net = Network { addr, prefix };
        if net.base() != addr {
            return Err(format!(
                "`{s}` has bits set after the prefix: write {}/{prefix}",
                net.base()
            ));
        }
        Ok(net)
    }
}

impl Network {
    /// The first address of the range.
    fn base(&self) -> IpAddr {
        match self.addr {
            IpAddr::V4(a) => {
                let bits = masked(u128::from(a.to_bits()), self.prefix, 32);
                IpAddr::V4(Ipv4Addr::from_bits(u32::try_from(bits).unwrap_or(0)))
            }
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from_bits(masked(a.to_bits(), self.prefix, 128))),
        }
    }
}

/// IPv4 ranges that never receive webhooks; the first match names the kind.
const V4_BLOCKED: [(Network, Blocked); 16] = [
    (Network::v4(0, 0, 0, 0, 8), Blocked::Unspecified),
    (Network::v4(10, 0, 0, 0, 8), Blocked::Private),
    (Network::v4(100, 64, 0, 0, 10), Blocked::Shared),
    (Network::v4(127, 0, 0, 0, 8), Blocked::Loopback),
    (Network::v4(169, 254, 0, 0, 16), Blocked::LinkLocal),
    (Network::v4(172, 16, 0, 0, 12), Blocked::Private),
    (Network::v4(192, 0, 0, 0, 24), Blocked::Reserved),
    (Network::v4(192, 0, 2, 0, 24), Blocked::Documentation),
    (Network::v4(192, 88, 99, 0, 24), Blocked::Reserved),
    (Network::v4(192, 168, 0, 0, 16), Blocked::Private),
    (Network::v4(198, 18, 0, 0, 15), Blocked::Reserved),
    (Network::v4(198, 51, 100, 0, 24), Blocked::Documentation),
    (Network::v4(203, 0, 113, 0, 24), Blocked::Documentation),
    (Network::v4(224, 0, 0, 0, 4), Blocked::Multicast),
    (Network::v4(255, 255, 255, 255, 32), Blocked::Broadcast),
    (Network::v4(240, 0, 0, 0, 4), Blocked::Reserved),
];

/// IPv6 ranges that never receive webhooks (before the embedded-IPv4 forms and the
/// "outside `2000::/3`" rule of [`classify`]).
const V6_BLOCKED: [(Network, Blocked); 10] = [
    (
        Network::v6([0, 0, 0, 0, 0, 0, 0, 0], 128),
        Blocked::Unspecified,
    ),
    (
        Network::v6([0, 0, 0, 0, 0, 0, 0, 1], 128),
        Blocked::Loopback,
    ),
    (
        Network::v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7),
        Blocked::UniqueLocal,
    ),
    (
        Network::v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10),
        Blocked::LinkLocal,
    ),
    (
        Network::v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8),
        Blocked::Multicast,
    ),
    (
        Network::v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48),
        Blocked::Private,
    ),
    (
        Network::v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32),
        Blocked::Documentation,
    ),
    (
        Network::v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20),
        Blocked::Documentation,
    ),
    (
        Network::v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23),
        Blocked::Reserved,
    ),
    (
        Network::v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64),
        Blocked::Reserved,
    ),
];

/// NAT64 (`64:ff9b::/96`): the IPv4 address is the last 32 bits.
const NAT64: Network = Network::v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96);
/// 6to4 (`2002::/16`): the IPv4 address is bits 16 to 48.
const SIX_TO_FOUR: Network = Network::v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16);
/// Global unicast IPv6; everything outside it is reserved.
const GLOBAL_UNICAST: Network = Network::v6([0x2000, 0, 0, 0, 0, 0, 0, 0], 3);

/// Why `ip` may not receive webhooks, or `None` for a public unicast address.
pub fn classify(ip: IpAddr) -> Option<Blocked> {
    match ip.to_canonical() {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Blocked> {
    V4_BLOCKED
        .iter()
        .find(|(net, _)| net.contains(IpAddr::V4(ip)))
        .map(|(_, kind)| *kind)
}

fn classify_v6(ip: Ipv6Addr) -> Option<Blocked> {
    let addr = IpAddr::V6(ip);
    if let Some((_, kind)) = V6_BLOCKED.iter().find(|(net, _)| net.contains(addr)) {
        return Some(*kind);
    }
    let bits = ip.to_bits();
    if NAT64.contains(addr) {
        return classify_v4(Ipv4Addr::from_bits(low_32(bits)));
    }
    if SIX_TO_FOUR.contains(addr) {
        return classify_v4(Ipv4Addr::from_bits(low_32(bits >> 80)));
    }
    if !GLOBAL_UNICAST.contains(addr) {
        return Some(Blocked::Reserved);
    }
    None
}

/// The lowest 32 bits.
fn low_32(bits: u128) -> u32 {
    u32::try_from(bits & u128::from(u32::MAX)).unwrap_or(0)
}

/// The networks let through although [`classify`] refuses them (`--webhook-allow-networks`):
/// loopback receivers in development and tests. Empty by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList(Vec<Network>);

impl AllowList {
    /// These networks.
    pub fn new(networks: Vec<Network>) -> AllowList {
        AllowList(networks)
    }

    /// The networks, for the start-up log.
    pub fn networks(&self) -> &[Network] {
        &self.0
    }

    /// True when `ip` is in one of these networks (where plain `http://` may go).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(ip))
    }

    /// Why `ip` may not receive webhooks here, or `None` when it may.
    pub fn refusal(&self, ip: IpAddr) -> Option<Blocked> {
        let ip = ip.to_canonical();
        if self.0.iter().any(|net| net.contains(ip)) {
            return None;
        }
        classify(ip)
    }
}

impl FromStr for AllowList {
    type Err = String;

    /// Comma-separated networks (`127.0.0.0/8,::1/128`); empty for none.
    fn from_str(s: &str) -> Result<AllowList, String> {
        s.split(',')
            .filter(|part| !part.trim().is_empty())
            .map(Network::from_str)
            .collect::<Result<Vec<_>, _>>()
            .map(AllowList)
    }
}

/// Top-level names and suffixes that mean something only inside a network: `localhost`
/// (RFC 6761), `local` (mDNS), `internal` (reserved for private use by ICANN, and where cloud
/// metadata lives: `metadata.google.internal`), `home.arpa` (RFC 8375), and the private-use
/// names of RFC 6762 appendix G.
const LOCAL_NAMES: [&str; 10] = [
    "localhost",
    "local",
    "internal",
    "localdomain",
    "home.arpa",
    "lan",
    "home",
    "corp",
    "intranet",
    "private",
];

/// True for `localhost`, `hooks.localhost`, `printer.local`, `metadata.google.internal`, ...
pub fn is_local_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    LOCAL_NAMES.iter().any(|name| {
        host == *name
            || host
                .strip_suffix(name)
                .is_some_and(|rest| rest.ends_with('.'))
    })
}

/// Why a webhook URL is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not a URL at all.
    Malformed,
    /// Another scheme than `http` or `https`.
    Scheme,
    /// No host right after `//` (`http:///path`, `http:host`).
    NoHost,
    /// `user:password@` in the URL.
    Credentials,
    /// A single-label host name (`intranet`): search domains make it an internal name.
    NotQualified,
    /// A local name (`localhost`, `*.internal`, ...).
    LocalName,
    /// The address (literal, or every address the name resolves to) is not allowed.
    Address(Blocked),
    /// `http://` to an address outside the development networks of the allow-list: deliveries
    /// carry customers' data and go over TLS.
    PlainHttp,
}

impl fmt::Display for Refusal {
    /// The message a seller sees (registration, and `lastError` when a stored URL no longer
    /// passes).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Malformed => f.write_str(
                "url must be an absolute http:// or https:// URL (https://hooks.example.com/oms)",
            ),
            Refusal::Scheme => f.write_str("url must start with http:// or https://"),
            Refusal::NoHost => f.write_str(
                "url must name its host right after the // (https://hooks.example.com/oms)",
            ),
            Refusal::Credentials => f.write_str(
                "url must not contain credentials (user:password@): deliveries are \
                 authenticated by their webhook-signature",
            ),
            Refusal::NotQualified => f.write_str(
                "host name not allowed: use a fully qualified name (hooks.example.com) or a \
                 public IP address",
            ),
            Refusal::LocalName => f.write_str(
                "host name not allowed: a local name (localhost, *.local, *.internal, ...)",
            ),
            Refusal::Address(kind) => write!(f, "address not allowed: {kind}"),
            Refusal::PlainHttp => f.write_str(
                "url must start with https:// (plain http:// reaches only the development \
                 networks of --webhook-allow-networks)",
            ),
        }
    }
}

/// The host a checked URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// An address, already checked.
    Ip(IpAddr),
    /// A name: its addresses are checked when it is resolved.
    Name(String),
}

/// A URL that passed the rules that need no DNS.
#[derive(Debug, Clone)]
pub struct Target {
    /// The parsed URL (its text is what is stored and what is posted to).
    pub url: Url,
    /// Its host.
    pub host: Host,
}

/// Checks a webhook URL against every rule that needs no DNS: the form, the scheme, the
/// credentials, local names, and a literal address against `allow`.
pub fn check(raw: &str, allow: &AllowList) -> Result<Target, Refusal> {
    let url = Url::parse(raw).map_err(|_| Refusal::Malformed)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refusal::Scheme);
    }
    // The parser is lenient (`http:///x` and `http:x` name the host `x`): the text itself
    // must have the host right after `scheme://`.
    let authority = raw
        .split_once(':')
        .and_then(|(_, rest)| rest.strip_prefix("//"))
        .map(|rest| rest.split(['/', '\\', '?', '#']).next().unwrap_or_default())
        .unwrap_or_default();
    if authority.is_empty() {
        return Err(Refusal::NoHost);
    }
    if authority.contains('@') {
        return Err(Refusal::Credentials);
    }
    let host = match url.host() {
        None => return Err(Refusal::NoHost),
        Some(url::Host::Ipv4(ip)) => Host::Ip(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Host::Ip(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => {
            if is_local_name(name) {
                return Err(Refusal::LocalName);
            }
            if !name.trim_end_matches('.').contains('.') {
                return Err(Refusal::NotQualified);
            }
            Host::Name(name.to_owned())
        }
    };
    if let Host::Ip(ip) = host {
        if let Some(kind) = allow.refusal(ip) {
            return Err(Refusal::Address(kind));
        }
        if url.scheme() == "http" && !allow.contains(ip) {
            return Err(Refusal::PlainHttp);
        }
    }
    // Without development networks, plain http can reach nothing: say so at registration
    // rather than at every delivery.
    if url.scheme() == "http" && allow.networks().is_empty() {
        return Err(Refusal::PlainHttp);
    }
    Ok(Target { url, host })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn every_range_and_notation_of_an_address() {
        use Blocked::*;
        let table: &[(&str, Option<Blocked>)] = &[
            ("0.0.0.0", Some(Unspecified)),
            ("0.1.2.3", Some(Unspecified)),
            ("10.0.0.5", Some(Private)),
            ("10.255.255.255", Some(Private)),
            ("100.64.0.1", Some(Shared)),
            ("100.127.255.255", Some(Shared)),
            ("100.128.0.1", None),
            ("127.0.0.1", Some(Loopback)),
            ("127.255.255.254", Some(Loopback)),
            ("169.254.169.254", Some(LinkLocal)),
            ("172.16.0.1", Some(Private)),
            ("172.31.255.255", Some(Private)),
            ("172.32.0.1", None),
            ("192.0.0.8", Some(Reserved)),
            ("192.0.2.1", Some(Documentation)),
            ("192.88.99.1", Some(Reserved)),
            ("192.168.1.1", Some(Private)),
            ("198.18.0.1", Some(Reserved)),
            ("198.19.255.255", Some(Reserved)),
            ("198.51.100.7", Some(Documentation)),
            ("203.0.113.9", Some(Documentation)),
            ("224.0.0.1", Some(Multicast)),
            ("239.255.255.250", Some(Multicast)),
            ("240.0.0.1", Some(Reserved)),
            ("255.255.255.255", Some(Broadcast)),
            ("8.8.8.8", None),
            ("93.184.216.34", None),
            ("223.255.255.255", None),
            // IPv6.
            ("::", Some(Unspecified)),
            ("::1", Some(Loopback)),
            ("fd00::1", Some(UniqueLocal)),
            ("fc00::1", Some(UniqueLocal)),
            ("fe80::1", Some(LinkLocal)),
            ("febf::1", Some(LinkLocal)),
            ("fec0::1", Some(Reserved)),
            ("ff02::1", Some(Multicast)),
            ("2001:db8::1", Some(Documentation)),
            ("3fff::1", Some(Documentation)),
            ("2001::1", Some(Reserved)),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", Some(Reserved)),
            ("100::1", Some(Reserved)),
            ("5f00::1", Some(Reserved)),
            ("2606:4700:4700::1111", None),
            ("2404:6800:4004:80a::200e", None),
            // IPv4 inside IPv6: mapped, NAT64, local-use NAT64, 6to4, compatible.
            ("::ffff:127.0.0.1", Some(Loopback)),
            ("::ffff:7f00:1", Some(Loopback)),
            ("::ffff:10.0.0.5", Some(Private)),
            ("::ffff:169.254.169.254", Some(LinkLocal)),
            ("::ffff:8.8.8.8", None),
            ("64:ff9b::127.0.0.1", Some(Loopback)),
            ("64:ff9b::a00:5", Some(Private)),
            ("64:ff9b::169.254.169.254", Some(LinkLocal)),
            ("64:ff9b::8.8.8.8", None),
            ("64:ff9b:1::8.8.8.8", Some(Private)),
            ("2002:7f00:1::", Some(Loopback)),
            ("2002:a00:5::1", Some(Private)),
            ("2002:a9fe:a9fe::", Some(LinkLocal)),
            ("2002:808:808::1", None),
            ("::127.0.0.1", Some(Reserved)),
            ("::8.8.8.8", Some(Reserved)),
            ("::ffff:0:8.8.8.8", Some(Reserved)),
        ];
        for (addr, expected) in table {
            assert_eq!(classify(ip(addr)), *expected, "{addr}");
        }
    }

    /// The notations an attacker tries, as the URL parser reads them (the same parser the
    /// delivery uses): every one ends up as the address it means, and is refused.
    #[test]
    fn every_notation_in_a_url() {
        use Blocked::*;
        let none = AllowList::default();
        let table: &[(&str, Refusal)] = &[
            ("http://127.0.0.1/", Refusal::Address(Loopback)),
            ("http://127.0.0.1./", Refusal::Address(Loopback)),
            ("http://2130706433/", Refusal::Address(Loopback)),
            ("http://0x7f000001/", Refusal::Address(Loopback)),
            ("http://0X7F.0.0.1/", Refusal::Address(Loopback)),
            ("http://0177.0.0.1/", Refusal::Address(Loopback)),
            ("http://0177.0.0.01/", Refusal::Address(Loopback)),
            ("http://127.1/", Refusal::Address(Loopback)),
            ("http://127.0.1/", Refusal::Address(Loopback)),
            ("http://017700000001/", Refusal::Address(Loopback)),
            ("http://[::1]/", Refusal::Address(Loopback)),
            ("http://[0:0:0:0:0:0:0:1]/", Refusal::Address(Loopback)),
            ("http://[::ffff:127.0.0.1]/", Refusal::Address(Loopback)),
            ("http://[::ffff:7f00:1]/", Refusal::Address(Loopback)),
            ("http://[64:ff9b::10.0.0.5]/", Refusal::Address(Private)),
            ("http://[2002:a00:5::]/", Refusal::Address(Private)),
            ("http://0.0.0.0/", Refusal::Address(Unspecified)),
            ("http://0/", Refusal::Address(Unspecified)),
            ("http://[::]/", Refusal::Address(Unspecified)),
            (
                "http://169.254.169.254/latest/meta-data/",
                Refusal::Address(LinkLocal),
            ),
            ("http://2852039166/", Refusal::Address(LinkLocal)),
            ("http://[fe80::1]/", Refusal::Address(LinkLocal)),
            ("http://10.0.0.5:8080/", Refusal::Address(Private)),
            ("http://012.0.0.5/", Refusal::Address(Private)),
            ("http://172.16.0.1/", Refusal::Address(Private)),
            ("http://192.168.0.1/", Refusal::Address(Private)),
            ("http://100.64.0.1/", Refusal::Address(Shared)),
            ("http://[fd00::1]/", Refusal::Address(UniqueLocal)),
            ("http://224.0.0.1/", Refusal::Address(Multicast)),
            ("http://255.255.255.255/", Refusal::Address(Broadcast)),
            ("http://192.0.2.1/", Refusal::Address(Documentation)),
            ("http://240.0.0.1/", Refusal::Address(Reserved)),
            ("http://localhost/", Refusal::LocalName),
            ("http://LOCALHOST:8080/", Refusal::LocalName),
            ("http://localhost./", Refusal::LocalName),
            ("http://hooks.localhost/", Refusal::LocalName),
            (
                "http://metadata.google.internal/computeMetadata/v1/",
                Refusal::LocalName,
            ),
            ("http://anything.internal/", Refusal::LocalName),
            ("http://printer.local/", Refusal::LocalName),
            ("http://router.home.arpa/", Refusal::LocalName),
            ("http://nas.lan/", Refusal::LocalName),
            ("http://metadata/", Refusal::NotQualified),
            ("http://intranet/", Refusal::LocalName),
            ("http://webhooks/", Refusal::NotQualified),
            ("http://webhooks./", Refusal::NotQualified),
            ("http:///nohost", Refusal::NoHost),
            ("http:nohost.example/x", Refusal::NoHost),
            ("http:/nohost.example/x", Refusal::NoHost),
            ("http:\\\\nohost.example/x", Refusal::NoHost),
            ("http://user:pass@hooks.example.com/", Refusal::Credentials),
            ("http://user@hooks.example.com/", Refusal::Credentials),
            ("http://:@hooks.example.com/", Refusal::Credentials),
            ("http://hooks.example.com@127.0.0.1/", Refusal::Credentials),
            ("ftp://hooks.example.com/", Refusal::Scheme),
            ("file:///etc/passwd", Refusal::Scheme),
            ("gopher://hooks.example.com/", Refusal::Scheme),
            ("hooks.example.com/oms", Refusal::Malformed),
            ("http://", Refusal::Malformed),
            ("http://1.2.3.4.5/", Refusal::Malformed),
        ];
        for (raw, expected) in table {
            assert_eq!(check(raw, &none).map(|t| t.url), Err(*expected), "{raw}");
        }
        for raw in [
            "https://hooks.example.com/oms",
            "https://hooks.example.com:8080/a?b=c",
            "https://HOOKS.Example.com./oms",
            "https://93.184.216.34/",
            "https://[2606:4700:4700::1111]/",
        ] {
            assert!(check(raw, &none).is_ok(), "{raw}");
        }
        // Plain http to a public address: refused; to an allowed development network: fine.
        for raw in ["http://93.184.216.34/", "http://[2606:4700:4700::1111]/"] {
            assert_eq!(
                check(raw, &none).map(|t| t.url),
                Err(Refusal::PlainHttp),
                "{raw}"
            );
        }
        // Without development networks, plain http to a name is refused at once; with them,
        // the name's addresses decide at resolution.
        assert_eq!(
            check("http://hooks.example.com/oms", &none).map(|t| t.url),
            Err(Refusal::PlainHttp)
        );
        let development: AllowList = "127.0.0.0/8".parse().unwrap();
        assert!(check("http://127.0.0.1:9000/hook", &development).is_ok());
        assert!(check("http://hooks.example.com/oms", &development).is_ok());
        assert_eq!(
            check("http://93.184.216.34/", &development).map(|t| t.url),
            Err(Refusal::PlainHttp)
        );
        // What is stored is the parser's form, which is what was checked.
        let t = check("HTTPS://Hooks.Example.COM:443/oms", &none).unwrap();
        assert_eq!(t.url.as_str(), "https://hooks.example.com/oms");
        assert_eq!(t.host, Host::Name("hooks.example.com".into()));
    }

    #[test]
    fn the_allow_list_lets_its_networks_through() {
        let allow: AllowList = "127.0.0.0/8, ::1/128".parse().unwrap();
        assert_eq!(allow.refusal(ip("127.0.0.1")), None);
        assert_eq!(allow.refusal(ip("127.9.9.9")), None);
        assert_eq!(allow.refusal(ip("::1")), None);
        assert_eq!(allow.refusal(ip("::ffff:127.0.0.1")), None);
        assert_eq!(allow.refusal(ip("10.0.0.5")), Some(Blocked::Private));
        assert_eq!(allow.refusal(ip("::2")), Some(Blocked::Reserved));
        assert!(check("http://127.0.0.1:9000/hook", &allow).is_ok());
        // Names are judged by name whatever the allow-list.
        assert_eq!(
            check("http://localhost:9000/hook", &allow).map(|t| t.url),
            Err(Refusal::LocalName)
        );
        let one: AllowList = "127.0.0.1".parse().unwrap();
        assert_eq!(one.refusal(ip("127.0.0.1")), None);
        assert_eq!(one.refusal(ip("127.0.0.2")), Some(Blocked::Loopback));
        assert_eq!("".parse::<AllowList>(), Ok(AllowList::default()));
        assert_eq!(
            AllowList::default().refusal(ip("127.0.0.1")),
            Some(Blocked::Loopback)
        );
    }

    #[test]
    fn networks_parse_strictly() {
        assert_eq!(
            "10.0.0.0/8".parse::<Network>().unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!("::1".parse::<Network>().unwrap().to_string(), "::1/128");
        assert_eq!(
            "fd00::/8".parse::<Network>().unwrap().to_string(),
            "fd00::/8"
        );
        assert_eq!(
            "0.0.0.0/0".parse::<Network>().unwrap().to_string(),
            "0.0.0.0/0"
        );
        for (bad, says) in [
            ("10.0.0.1/8", "write 10.0.0.0/8"),
            ("fd00::1/8", "write fd00::/8"),
            ("10.0.0.0/33", "0 to 32"),
            ("::/129", "0 to 128"),
            ("10.0.0.0/x", "0 to 32"),
            ("localhost", "not a network"),
            ("10.0.0/8", "not a network"),
        ] {
            let err = bad.parse::<Network>().unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
        let net: Network = "172.16.0.0/12".parse().unwrap();
        assert!(net.contains(ip("172.31.0.1")));
        assert!(!net.contains(ip("172.32.0.1")));
        assert!(
            !net.contains(ip("::ffff:172.16.0.1")),
            "callers unwrap mapped addresses"
        );
        assert!("::/0"
            .parse::<Network>()
            .unwrap()
            .contains(ip("2001:db8::1")));
    }

    #[test]
    fn local_names() {
        for name in [
            "localhost",
            "LocalHost.",
            "a.b.localhost",
            "metadata.google.internal",
            "x.local",
            "h.home.arpa",
            "box.localdomain",
        ] {
            assert!(is_local_name(name), "{name}");
        }
        for name in [
            "hooks.example.com",
            "notlocalhost.com",
            "internal.example.com",
            "mylocal",
            "arpa",
        ] {
            assert!(!is_local_name(name), "{name}");
        }
    }

    #[test]
    fn refusals_name_the_problem() {
        assert_eq!(
            Refusal::Address(Blocked::Private).to_string(),
            "address not allowed: private network"
        );
        assert!(Refusal::Credentials.to_string().contains("credentials"));
        assert!(Refusal::NoHost.to_string().contains("host"));
        assert!(Refusal::Scheme.to_string().contains("http://"));
    }
}
