//! Which address a request comes from: the connection's peer, or, when the peer is a trusted
//! proxy (`security.trusted_proxies`), the right-most untrusted address of `X-Forwarded-For`;
//! and the `X-Forwarded-For` value the edge forwards.

use std::net::IpAddr;

use accord_config::IpNet;

/// The trusted proxies and the rules that use them.
#[derive(Debug, Clone, Default)]
pub struct ClientAddr {
    trusted: Vec<IpNet>,
}

impl ClientAddr {
    /// Rules trusting `X-Forwarded-For` from these ranges only.
    pub fn new(trusted: Vec<IpNet>) -> Self {
        Self { trusted }
    }

    /// Whether `ip` is a trusted proxy.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|net| net.contains(ip))
    }

    /// The client address of a connection from `peer` that carried these `X-Forwarded-For`
    /// values (in header order). From an untrusted peer the header is ignored. From a trusted
    /// one, the header is read right to left, skipping trusted proxies; the first other address
    /// is the client. A header made only of trusted proxies gives its left-most address; an
    /// unparsable entry stops the walk (nothing left of it can be believed) and the peer or the
    /// last trusted hop read is the client.
    pub fn resolve<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl Iterator<Item = &'a str>,
    ) -> IpAddr {
        let peer = canonical(peer);
        if !self.is_trusted(peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded_for.flat_map(|v| v.split(',')).collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop) else {
                return client;
            };
            client = ip;
            if !self.is_trusted(ip) {
                return ip;
            }
        }
        client
    }

    /// The `X-Forwarded-For` value to send upstream: the received chain plus `peer` when the
    /// peer is trusted, else just `peer` (a chain from an untrusted peer may be forged).
    pub fn forward_header<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl Iterator<Item = &'a str>,
    ) -> String {
        let peer = canonical(peer);
        if !self.is_trusted(peer) {
            return ip_text(peer);
        }
        let mut chain: Vec<&str> = forwarded_for
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let peer = ip_text(peer);
        chain.push(&peer);
        chain.join(", ")
    }
}

/// `ip` as text, as `Display` writes it; IPv4 (every request's `X-Forwarded-For`) without the
/// formatting machinery, which cost more than the rest of the header.
pub fn ip_text(ip: IpAddr) -> String {
    let IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut text = String::with_capacity(15);
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            text.push('.');
        }
        if octet >= 100 {
            text.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            text.push(char::from(b'0' + octet / 10 % 10));
        }
        text.push(char::from(b'0' + octet % 10));
    }
    text
}

/// An IPv4-mapped IPv6 address as plain IPv4 (a dual-stack listener reports IPv4 clients so).
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:443`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(addr) = hop.parse::<std::net::SocketAddr>() {
        return Some(canonical(addr.ip()));
    }
    hop.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse().ok())
        .map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "10.20.30.40",
            "255.255.255.255",
            "1.100.9.199",
            "::1",
            "2001:db8::8a2e:370:7334",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(ip_text(ip), ip.to_string());
        }
        for octet in 0..=255u8 {
            let ip = IpAddr::from([octet, 255 - octet, octet / 2, 7]);
            assert_eq!(ip_text(ip), ip.to_string());
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn rules(trusted: &[&str]) -> ClientAddr {
        ClientAddr::new(trusted.iter().map(|t| t.parse().unwrap()).collect())
    }

    #[test]
    fn untrusted_peers_are_the_client_whatever_they_claim() {
        let r = rules(&["10.0.0.0/8"]);
        assert_eq!(
            r.resolve(ip("203.0.113.5"), ["198.51.100.1"].into_iter()),
            ip("203.0.113.5")
        );
        assert_eq!(
            r.resolve(ip("203.0.113.5"), std::iter::empty()),
            ip("203.0.113.5")
        );
        assert_eq!(
            rules(&[]).resolve(ip("127.0.0.1"), ["198.51.100.1"].into_iter()),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn trusted_peers_give_the_right_most_untrusted_hop() {
        let r = rules(&["10.0.0.0/8", "::1"]);
        let peer = ip("10.0.0.2");
        assert_eq!(
            r.resolve(peer, ["198.51.100.1, 203.0.113.9, 10.1.1.1"].into_iter()),
            ip("203.0.113.9")
        );
        // Several header lines are one list, in order.
        assert_eq!(
            r.resolve(peer, ["198.51.100.1", "203.0.113.9:4444"].into_iter()),
            ip("203.0.113.9")
        );
        assert_eq!(
            r.resolve(ip("::1"), ["[2001:db8::7]:443"].into_iter()),
            ip("2001:db8::7")
        );
        // Only proxies: the left-most.
        assert_eq!(
            r.resolve(peer, ["10.9.9.9, 10.1.1.1"].into_iter()),
            ip("10.9.9.9")
        );
        // No header: the peer itself.
        assert_eq!(r.resolve(peer, std::iter::empty()), peer);
        // Garbage stops the walk at the last trusted hop.
        assert_eq!(
            r.resolve(peer, ["198.51.100.1, junk, 10.1.1.1"].into_iter()),
            ip("10.1.1.1")
        );
        // IPv4-mapped peers are matched as IPv4.
        assert_eq!(
            r.resolve(ip("::ffff:10.0.0.2"), ["198.51.100.1"].into_iter()),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn the_forwarded_chain_is_extended_only_for_trusted_peers() {
        let r = rules(&["127.0.0.1"]);
        assert_eq!(
            r.forward_header(ip("127.0.0.1"), ["198.51.100.1 , 10.0.0.1"].into_iter()),
            "198.51.100.1, 10.0.0.1, 127.0.0.1"
        );
        assert_eq!(
            r.forward_header(ip("203.0.113.5"), ["198.51.100.1"].into_iter()),
            "203.0.113.5"
        );
        assert_eq!(
            r.forward_header(ip("127.0.0.1"), std::iter::empty()),
            "127.0.0.1"
        );
        assert_eq!(
            r.forward_header(ip("::ffff:1.2.3.4"), std::iter::empty()),
            "1.2.3.4"
        );
    }
}
