//! IP address checks (StreamAlert's `valid_ip` and `in_network`, built on `netaddr`).

use super::MaybeText;
use std::net::IpAddr;

/// True when `ip` is a valid IPv4 or IPv6 address, except `::1`, which StreamAlert rejects on
/// purpose. Anything but text is invalid.
///
/// Only the standard text forms count: dotted-quad IPv4 and RFC 4291 IPv6. (`netaddr` also
/// accepts `inet_aton` shorthands such as `127.1`; those are invalid here.)
///
/// ```
/// use streamalert::rule::helpers::valid_ip;
/// use serde_json::json;
/// assert!(valid_ip("10.0.0.1"));
/// assert!(valid_ip("2001:db8::1"));
/// assert!(valid_ip(&json!("192.168.1.1")));
/// assert!(!valid_ip("::1"));
/// assert!(!valid_ip("not an ip"));
/// assert!(!valid_ip(&json!(null)));
/// ```
pub fn valid_ip<T: MaybeText + ?Sized>(ip: &T) -> bool {
    parse_ip(ip).is_some()
}

fn parse_ip<T: MaybeText + ?Sized>(ip: &T) -> Option<IpAddr> {
    let text = ip.maybe_text()?;
    if text == "::1" {
        return None;
    }
    text.parse().ok()
}

/// A network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`) or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Network {
    address: IpAddr,
    prefix: u32,
}

impl Network {
    fn parse(cidr: &str) -> Option<Self> {
        let (address, prefix) = match cidr.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (cidr, None),
        };
        let address: IpAddr = address.trim().parse().ok()?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix.trim().parse().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(Self { address, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => same_prefix(
                u128::from(net.to_bits()),
                u128::from(ip.to_bits()),
                32,
                self.prefix,
            ),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                same_prefix(net.to_bits(), ip.to_bits(), 128, self.prefix)
            }
            _ => false,
        }
    }
}

/// True when the first `prefix` of `width` bits of `a` and `b` are equal.
fn same_prefix(a: u128, b: u128, width: u32, prefix: u32) -> bool {
    let shift = width - prefix;
    shift >= width || (a ^ b) >> shift == 0
}

/// True when `ip` is a [valid](valid_ip) address inside any of `cidrs`. A CIDR that does not
/// parse is logged (`Invalid IP Network`) and skipped; an address without a prefix is a
/// network of one. Host bits set in a CIDR are ignored (`10.1.2.3/8` is `10.0.0.0/8`).
///
/// ```
/// use streamalert::rule::helpers::in_network;
/// assert!(in_network("10.1.2.3", ["10.0.0.0/8"]));
/// assert!(in_network("192.168.1.1", ["172.16.0.0/12", "192.168.0.0/16"]));
/// assert!(!in_network("8.8.8.8", ["10.0.0.0/8", "not a network"]));
/// assert!(in_network("2001:db8::5", ["2001:db8::/32"]));
/// assert!(!in_network("10.1.2.3", ["2001:db8::/32"]));
/// ```
pub fn in_network<T, I, S>(ip: &T, cidrs: I) -> bool
where
    T: MaybeText + ?Sized,
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let Some(ip) = parse_ip(ip) else {
        return false;
    };
    cidrs
        .into_iter()
        .any(|cidr| match Network::parse(cidr.as_ref()) {
            Some(network) => network.contains(ip),
            None => {
                tracing::error!("Invalid IP Network: {}", cidr.as_ref());
                false
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert!(in_network("1.2.3.4", ["0.0.0.0/0"]));
        assert!(in_network("1.2.3.4", ["1.2.3.4"]));
        assert!(!in_network("1.2.3.5", ["1.2.3.4/32"]));
        assert!(in_network("1.2.3.5", ["1.2.3.4/31"]));
        assert!(in_network("10.200.0.1", ["10.1.2.3/8"]));
        assert!(!in_network("1.2.3.4", ["1.2.3.4/33"]));
        assert!(in_network("::2", ["::/0"]));
        assert!(!in_network("::1", ["::/0"]));
    }
}
