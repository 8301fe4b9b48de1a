//! Picture addresses come from feed items and the story API, that is from whoever writes the
//! feed: measuring a picture must not become a way to make Herald's host send requests into
//! its own network (a cloud metadata service, an admin page on localhost). A picture readers
//! cannot load from their mail client is no picture anyway, so only public addresses are
//! fetched unless `feeds.allow_private_pictures` says otherwise (a test or a closed network).
//!
//! Names are checked where they are resolved, so a name that points somewhere else at connect
//! time than at a first lookup gains nothing; literal addresses never reach the resolver and
//! are checked on the URL, for the first request and for every redirect.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;
use reqwest::Url;

/// Redirects followed at most, as reqwest's default policy.
const MAX_REDIRECTS: usize = 10;

/// Whether anyone on the internet could reach this address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

/// The IPv4 address an IPv6 form carries, where the network routes it to that IPv4 address:
/// IPv4-mapped (`::ffff:0:0/96`), IPv4-compatible (`::/96`), NAT64's well-known prefix
/// (`64:ff9b::/96`) and 6to4 (`2002::/16`). A private IPv4 address is as private in any of them.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let segments = ip.segments();
    let last_32 = || Ipv4Addr::from(ip.to_bits() as u32);
    match segments {
        [0, 0, 0, 0, 0, 0, _, _] if !ip.is_loopback() && !ip.is_unspecified() => Some(last_32()),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(last_32()),
        [0x2002, high, low, ..] => Some(Ipv4Addr::from((u32::from(high) << 16) | u32::from(low))),
        _ => None,
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [first, second, ..] = ip.octets();
    let shared = first == 100 && (64..128).contains(&second); // carrier-grade NAT, RFC 6598
    let this_network = first == 0;
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || shared
        || this_network
        || first >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    // NAT64 for local use (RFC 8215): it translates into whatever network the operator chose.
    let local_nat64 = matches!(ip.segments(), [0x64, 0xff9b, 1, ..]);
    !(local_nat64
        || ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_unique_local()
        || ip.is_unicast_link_local())
}

/// Refuses a URL whose host is a literal address that is not public.
pub fn check_literal(url: &Url) -> Result<(), String> {
    let ip = match url.host() {
        Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
        _ => return Ok(()),
    };
    if is_public(ip) {
        Ok(())
    } else {
        Err(format!("refused: {ip} is not a public address"))
    }
}

/// Redirects are followed only to URLs [`check_literal`] lets through, and with `names` false
/// (through a proxy) only to addresses.
pub fn redirect_policy(names: bool) -> redirect::Policy {
    redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= MAX_REDIRECTS {
            return attempt.error("too many redirects");
        }
        let checked = check_literal(attempt.url()).and_then(|()| {
            if names {
                Ok(())
            } else {
                check_no_name(attempt.url())
            }
        });
        match checked {
            Ok(()) => attempt.follow(),
            Err(refusal) => attempt.error(refusal),
        }
    })
}

/// Through a proxy, a name is resolved by the proxy, where no address check reaches: only
/// addresses are fetched (unless `feeds.allow_private_pictures`).
pub fn check_no_name(url: &Url) -> Result<(), String> {
    match url.host() {
        Some(url::Host::Domain(name)) => Err(format!(
            "refused: {name} would be resolved by feeds.picture_proxy, out of reach of the \
             address check (set feeds.allow_private_pictures to fetch names through it)"
        )),
        _ => Ok(()),
    }
}

/// The system resolver, keeping only public addresses; a name with none is an error.
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let public: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|address| is_public(address.ip()))
                .collect();
            if public.is_empty() {
                return Err(format!("refused: {host} has no public address").into());
            }
            let addresses: Addrs = Box::new(public.into_iter());
            Ok(addresses)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_addresses_anyone_could_reach_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::10.0.0.1",
            "64:ff9b::169.254.169.254",
            "64:ff9b:1::8.8.8.8",
            "::10.0.0.1",
            "::127.0.0.1",
            "2002:0a00:0001::1",
            "2002:a9fe:a9fe::1",
        ] {
            assert!(!is_public(private.parse().expect("ip")), "{private}");
        }
        for public in [
            "93.184.215.14",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
            "64:ff9b::8.8.8.8",
            "2002:0808:0808::1",
        ] {
            assert!(is_public(public.parse().expect("ip")), "{public}");
        }
    }

    #[test]
    fn literal_addresses_are_checked_on_the_url() {
        let refused = Url::parse("http://169.254.169.254/latest/meta-data/").expect("url");
        assert_eq!(
            check_literal(&refused),
            Err("refused: 169.254.169.254 is not a public address".to_string())
        );
        let v6 = Url::parse("http://[::1]:8080/a.png").expect("url");
        assert!(check_literal(&v6).is_err());
        let named = Url::parse("https://cdn.example.org/a.png").expect("url");
        assert_eq!(check_literal(&named), Ok(()));
    }
}
