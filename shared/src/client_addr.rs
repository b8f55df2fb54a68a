//! The address of the client, when the apps run behind reverse proxies.
//!
//! Only a peer inside `trusted_proxies` may say who its client is. Its `Forwarded` header
//! (RFC 7239), or failing that `X-Forwarded-For`, is read from right to left: every hop that is
//! itself a trusted proxy is skipped, and the first one that is not is the client. Headers from
//! any other peer are ignored, so a client cannot pick the address its throttles count against.
//! An empty list (the default) means the socket's peer is the client.

use std::{net::IpAddr, sync::Arc};

use axum::{
    extract::{ConnectInfo, FromRef, FromRequestParts},
    http::{header::FORWARDED, request::Parts, HeaderMap, StatusCode},
};
use ipnet::IpNet;
use serde::{de, Deserialize, Deserializer};

/// The CIDR ranges of the reverse proxies whose forwarding headers are believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Arc<[IpNet]>);

impl TrustedProxies {
    /// Parses CIDR ranges (`10.0.0.0/8`, `fd00::/8`) or single addresses (`127.0.0.1`).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        entries
            .iter()
            .map(|e| {
                let e = e.as_ref().trim();
                e.parse::<IpNet>()
                    .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("not an IP address or CIDR range: {e:?}"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|nets| TrustedProxies(nets.into()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }
}

impl<'de> Deserialize<'de> for TrustedProxies {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let entries = Vec::<String>::deserialize(d)?;
        TrustedProxies::parse(&entries).map_err(de::Error::custom)
    }
}

/// Who sent a request, as far as the trusted proxies tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientOrigin {
    pub ip: IpAddr,
    /// Whether the client reached the outermost trusted proxy over HTTPS (`proto=https`,
    /// `X-Forwarded-Proto: https`); `None` when no trusted proxy said.
    pub https: Option<bool>,
}

/// One hop of a forwarding chain: the address the next proxy saw (when it was an address, not
/// `unknown` or an obfuscated name) and the scheme it was reached by.
struct Hop {
    ip: Option<IpAddr>,
    https: Option<bool>,
}

/// The client of a request that arrived from `peer` with `headers`.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> ClientOrigin {
    let peer = peer.to_canonical();
    let mut origin = ClientOrigin {
        ip: peer,
        https: None,
    };
    if trusted.is_empty() || !trusted.trusts(peer) {
        return origin;
    }
    let hops = if headers.contains_key(FORWARDED) {
        forwarded_hops(headers)
    } else {
        let hops = x_forwarded_hops(headers);
        if hops.is_empty() {
            // A proxy that names no client but the scheme (only `X-Forwarded-Proto`) still
            // describes the request it received.
            origin.https = x_forwarded_proto(headers);
        }
        hops
    };
    for hop in hops.iter().rev() {
        // A hop that is not an address ends the walk at the last proxy that could be trusted.
        let Some(ip) = hop.ip else { break };
        origin = ClientOrigin {
            ip,
            https: hop.https.or(origin.https),
        };
        if !trusted.trusts(ip) {
            break;
        }
    }
    origin
}

/// The elements of every `Forwarded` header, in order.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Hop> {
    let mut hops = Vec::new();
    for value in headers.get_all(FORWARDED) {
        let Ok(value) = value.to_str() else {
            // An unreadable header makes the whole chain untrustworthy past this proxy.
            hops.push(Hop {
                ip: None,
                https: None,
            });
            continue;
        };
        for element in split_outside_quotes(value, ',') {
            let mut hop = Hop {
                ip: None,
                https: None,
            };
            for pair in split_outside_quotes(element, ';') {
                let Some((key, val)) = pair.split_once('=') else {
                    continue;
                };
                let val = val.trim().trim_matches('"');
                match key.trim().to_ascii_lowercase().as_str() {
                    "for" => hop.ip = node_ip(val),
                    "proto" => hop.https = Some(val.eq_ignore_ascii_case("https")),
                    _ => {}
                }
            }
            hops.push(hop);
        }
    }
    hops
}

/// `X-Forwarded-For` addresses, in order; `X-Forwarded-Proto` (the nearest proxy's last
/// value) is the scheme of whichever hop turns out to be the client: the header has no
/// per-hop values, and a proxy that sets it describes the request it received.
fn x_forwarded_hops(headers: &HeaderMap) -> Vec<Hop> {
    let https = x_forwarded_proto(headers);
    headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|v| match v.to_str() {
            Ok(v) => v.split(',').map(|a| node_ip(a.trim())).collect::<Vec<_>>(),
            Err(_) => vec![None],
        })
        .map(|ip| Hop { ip, https })
        .collect()
}

/// The last value of `X-Forwarded-Proto`: the one the nearest proxy set.
fn x_forwarded_proto(headers: &HeaderMap) -> Option<bool> {
    headers
        .get_all("x-forwarded-proto")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()
        .map(|p| p.trim().eq_ignore_ascii_case("https"))
}

/// A node of RFC 7239 §6 (`192.0.2.1`, `192.0.2.1:80`, `[2001:db8::1]`, `[2001:db8::1]:80`) or
/// a bare address of `X-Forwarded-For`; `None` for `unknown` and obfuscated names.
fn node_ip(node: &str) -> Option<IpAddr> {
    if let Some(rest) = node.strip_prefix('[') {
        let (v6, _) = rest.split_once(']')?;
        return v6.parse::<IpAddr>().ok().map(|ip| ip.to_canonical());
    }
    let addr = node.parse::<IpAddr>().ok().or_else(|| {
        let (host, port) = node.rsplit_once(':')?;
        port.parse::<u16>().ok()?;
        host.parse::<IpAddr>().ok()
    })?;
    Some(addr.to_canonical())
}

/// Splits on `sep` where it is not inside a quoted string.
fn split_outside_quotes(s: &str, sep: char) -> impl Iterator<Item = &str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts.into_iter().map(str::trim).filter(|p| !p.is_empty())
}

/// The extractor every throttle, SMS cap and audit row takes its address from: the socket's
/// peer, or the client a trusted proxy names. Needs `into_make_service_with_connect_info`.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub ClientOrigin);

impl ClientAddr {
    pub fn ip(&self) -> IpAddr {
        self.0.ip
    }
}

impl<S> FromRequestParts<S> for ClientAddr
where
    S: Send + Sync,
    TrustedProxies: FromRef<S>,
{
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ConnectInfo(peer) = parts
            .extensions
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .copied()
            .ok_or((
                StatusCode::INTERNAL_SERVER_ERROR,
                "the server was started without connection info",
            ))?;
        let trusted = TrustedProxies::from_ref(state);
        Ok(ClientAddr(resolve(peer.ip(), &parts.headers, &trusted)))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies() -> TrustedProxies {
        TrustedProxies::parse(&["10.0.0.0/8", "127.0.0.1", "fd00::/8"]).unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client() {
        let h = headers(&[("x-forwarded-for", "203.0.113.9")]);
        let got = resolve(ip("10.0.0.1"), &h, &TrustedProxies::default());
        assert_eq!(got.ip, ip("10.0.0.1"));
    }

    #[test]
    fn an_untrusted_peer_cannot_name_its_client() {
        let h = headers(&[
            ("x-forwarded-for", "198.51.100.1"),
            ("forwarded", "for=198.51.100.1;proto=https"),
        ]);
        let got = resolve(ip("203.0.113.5"), &h, &proxies());
        assert_eq!(
            got,
            ClientOrigin {
                ip: ip("203.0.113.5"),
                https: None
            }
        );
    }

    #[test]
    fn x_forwarded_for_is_read_right_to_left_past_trusted_hops() {
        // The client forged the first entry; the outer proxy appended the real address.
        let h = headers(&[
            ("x-forwarded-for", "198.51.100.1, 203.0.113.7, 10.1.2.3"),
            ("x-forwarded-proto", "https"),
        ]);
        let got = resolve(ip("127.0.0.1"), &h, &proxies());
        assert_eq!(got.ip, ip("203.0.113.7"));
        assert_eq!(got.https, Some(true));
    }

    #[test]
    fn forwarded_wins_over_x_forwarded_for_and_carries_the_scheme() {
        let h = headers(&[
            ("x-forwarded-for", "198.51.100.1"),
            (
                "forwarded",
                r#"for=198.51.100.2, for="[2001:db8::7]:4711";proto=https;by=10.0.0.2"#,
            ),
            ("forwarded", "for=10.0.0.2;proto=http"),
        ]);
        let got = resolve(ip("10.0.0.3"), &h, &proxies());
        assert_eq!(
            got,
            ClientOrigin {
                ip: ip("2001:db8::7"),
                https: Some(true)
            }
        );
    }

    #[test]
    fn an_obfuscated_hop_ends_the_walk_at_the_last_trusted_proxy() {
        let h = headers(&[("forwarded", "for=203.0.113.1, for=_hidden, for=10.0.0.9")]);
        assert_eq!(resolve(ip("10.0.0.1"), &h, &proxies()).ip, ip("10.0.0.9"));
    }

    #[test]
    fn mapped_addresses_and_ports_are_normalised() {
        let h = headers(&[("x-forwarded-for", "203.0.113.4:5555")]);
        assert_eq!(
            resolve(ip("::ffff:127.0.0.1"), &h, &proxies()).ip,
            ip("203.0.113.4")
        );
    }

    #[test]
    fn all_hops_trusted_names_the_leftmost() {
        let h = headers(&[("x-forwarded-for", "10.9.9.9, 10.0.0.2")]);
        assert_eq!(resolve(ip("10.0.0.1"), &h, &proxies()).ip, ip("10.9.9.9"));
    }

    #[test]
    fn bad_entries_are_refused() {
        assert!(TrustedProxies::parse(&["10.0.0.0/33"]).is_err());
        assert!(TrustedProxies::parse(&["proxy.example"]).is_err());
    }
}
