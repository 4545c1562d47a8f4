//! Packetbeat DNS and flow logs (`rules/community/packetbeat/`), with small built-in
//! blocklists: replace them with your own.

use std::net::Ipv4Addr;
use streamalert::prelude::*;
use streamalert::rule::helpers::ends_with_any;

/// Domains whose lookup is an alert (fully qualified, with the trailing dot DNS logs carry).
const DNS_BLOCKLIST: [&str; 1] = ["evil.com."];

/// Destination addresses whose connection is an alert.
const IP_BLOCKLIST: [&str; 1] = ["222.173.190.239"];

/// author:       gavin (gavinelder)
/// description:  Lookup for BlackListed DNS (CnC).
/// testing:      (a) Review traffic logs for machine in question.
/// reference:    https://www.elastic.co/guide/en/beats/packetbeat/master/packetbeat-overview.html
#[rule(logs = ["packetbeat:dns"], outputs = ["file:alerts", "stdout:console"])]
fn packetbeat_blacklisted_domain(rec: &Record) -> bool {
    rec["dns"]["question"]["name"]
        .as_str()
        .is_some_and(|name| DNS_BLOCKLIST.contains(&name))
}

/// author:       gavin (gavinelder)
/// description:  Network connection to blacklisted IP.
/// testing:      (a) Review traffic logs for machine in question.
/// reference:    https://www.elastic.co/guide/en/beats/packetbeat/master/packetbeat-overview.html
#[rule(logs = ["packetbeat:flow"], outputs = ["file:alerts", "stdout:console"])]
fn packetbeat_blacklisted_ip(rec: &Record) -> bool {
    // StreamAlert first parses the source as an IPv4 address, so other flows never alert.
    let source_is_ipv4 = rec["source"]["ip"]
        .as_str()
        .is_some_and(|ip| ip.parse::<Ipv4Addr>().is_ok());
    source_is_ipv4
        && rec["dest"]["ip"]
            .as_str()
            .is_some_and(|ip| IP_BLOCKLIST.contains(&ip))
}

/// author:       gavin (gavinelder)
/// description:  Alert on DNS lookup for Blacklisted domain
/// testing:      (a) Review traffic logs for machine in question.
/// reference:    https://www.elastic.co/guide/en/beats/packetbeat/master/packetbeat-overview.html
#[rule(logs = ["packetbeat:dns"], outputs = ["file:alerts", "stdout:console"])]
fn packetbeat_dns_lookup(rec: &Record) -> bool {
    ends_with_any(&rec["dns"]["question"]["name"], [".evil.com."])
}
