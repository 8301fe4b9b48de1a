//! Is this click a reader, or a machine that follows links in mail before the reader does?
//!
//! Decided when the click arrives, from the request alone, except for one pattern that needs a
//! moment: a message whose links are all fetched at once soon after it was delivered, as a link
//! scanner does (see `counter`). Only the verdict is kept, never the request.

use axum::http::{HeaderMap, Method};

/// Why a click was not counted as a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filtered {
    /// HEAD: a link checker asking whether the link works.
    Head,
    /// The browser says it fetches ahead of the reader (prefetch, preview).
    Prefetch,
    /// A known link scanner, link previewer or crawler, or no User-Agent at all.
    Scanner,
    /// Several links of one message within a second or two, soon after delivery.
    Burst,
}

/// Agents that announce themselves as machines: mail security scanners, chat and social link
/// previews, crawlers and HTTP libraries. Compared in lower case, as substrings.
const MACHINE_AGENTS: &[&str] = &[
    "bot",
    "crawler",
    "spider",
    "preview",
    "scanner",
    "barracuda",
    "proofpoint",
    "mimecast",
    "urldefense",
    "safelinks",
    "symantec",
    "trendmicro",
    "forcepoint",
    "fortiguard",
    "sophos",
    "checkpoint",
    "google-safety",
    "facebookexternalhit",
    "whatsapp",
    "iframely",
    "python-",
    "go-http-client",
    "java/",
    "libwww",
    "wget",
    "curl/",
    "okhttp",
    "headless",
];

/// The verdict the request alone gives; `None`: a read, unless the burst rule says otherwise.
pub fn of_request(method: &Method, headers: &HeaderMap) -> Option<Filtered> {
    if method == Method::HEAD {
        return Some(Filtered::Head);
    }
    let announces_prefetch = ["purpose", "sec-purpose", "x-purpose", "x-moz"]
        .iter()
        .filter_map(|name| headers.get(*name))
        .filter_map(|value| value.to_str().ok())
        .any(|value| {
            let value = value.to_ascii_lowercase();
            value.contains("prefetch") || value.contains("preview") || value.contains("prerender")
        });
    if announces_prefetch {
        return Some(Filtered::Prefetch);
    }
    let agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if agent.trim().is_empty() || MACHINE_AGENTS.iter().any(|machine| agent.contains(machine)) {
        return Some(Filtered::Scanner);
    }
    None
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

    #[test]
    fn browsers_read_and_machines_are_filtered() {
        assert_eq!(
            of_request(&Method::GET, &headers(&[("user-agent", FIREFOX)])),
            None
        );
        assert_eq!(
            of_request(&Method::HEAD, &headers(&[("user-agent", FIREFOX)])),
            Some(Filtered::Head)
        );
        assert_eq!(
            of_request(
                &Method::GET,
                &headers(&[
                    ("user-agent", FIREFOX),
                    ("sec-purpose", "prefetch;prerender")
                ])
            ),
            Some(Filtered::Prefetch)
        );
        for agent in [
            "Mozilla/5.0 (compatible; BingPreview/1.0b)",
            "Barracuda Sentinel (EE)",
            "python-requests/2.32",
        ] {
            let mut map = HeaderMap::new();
            map.insert("user-agent", HeaderValue::from_str(agent).expect("ascii"));
            assert_eq!(
                of_request(&Method::GET, &map),
                Some(Filtered::Scanner),
                "{agent}"
            );
        }
        assert_eq!(
            of_request(&Method::GET, &HeaderMap::new()),
            Some(Filtered::Scanner)
        );
    }
}
