//! VERP: every delivery leaves with its own envelope sender, `LOCAL+TAG@DOMAIN`, so the report
//! that comes back to it names the delivery even when it quotes nothing of the message. The tag
//! carries an HMAC under the installation's bounce key: a made-up or altered tag is not ours,
//! and nobody can bounce someone else's address by sending us a report.

use aws_lc_rs::hmac;

/// What a tagged envelope sender was used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Delivery {
        edition_id: i64,
        subscriber_id: i64,
    },
    /// A confirmation request; tags made before they were bound to a reader name no list.
    Confirmation {
        list_id: Option<i64>,
        subscriber_id: i64,
    },
}

impl Tag {
    pub fn subscriber_id(self) -> i64 {
        match self {
            Self::Delivery { subscriber_id, .. } | Self::Confirmation { subscriber_id, .. } => {
                subscriber_id
            }
        }
    }

    pub fn edition_id(self) -> Option<i64> {
        match self {
            Self::Delivery { edition_id, .. } => Some(edition_id),
            Self::Confirmation { .. } => None,
        }
    }

    /// The payload of a tag bound to its reader: `r` and `k`, where the first tags had `d`
    /// and `c`.
    fn payload(self) -> String {
        match self {
            Self::Delivery {
                edition_id,
                subscriber_id,
            } => format!("r{edition_id}.{subscriber_id}"),
            Self::Confirmation {
                list_id,
                subscriber_id,
            } => format!("k{}.{subscriber_id}", list_id.unwrap_or_default()),
        }
    }

    fn from_payload(payload: &str) -> Option<(Self, Binding)> {
        let number = |text: &str| text.parse::<i64>().ok().filter(|n| *n > 0);
        let pair = |text: &str| {
            let (first, second) = text.split_once('.')?;
            Some((number(first)?, number(second)?))
        };
        let (kind, rest) = payload.split_at_checked(1)?;
        match kind {
            "r" => pair(rest).map(|(edition_id, subscriber_id)| {
                let tag = Self::Delivery {
                    edition_id,
                    subscriber_id,
                };
                (tag, Binding::Reader)
            }),
            "k" => pair(rest).map(|(list_id, subscriber_id)| {
                let tag = Self::Confirmation {
                    list_id: Some(list_id),
                    subscriber_id,
                };
                (tag, Binding::Reader)
            }),
            "d" => pair(rest).map(|(edition_id, subscriber_id)| {
                let tag = Self::Delivery {
                    edition_id,
                    subscriber_id,
                };
                (tag, Binding::Legacy)
            }),
            "c" => number(rest).map(|subscriber_id| {
                let tag = Self::Confirmation {
                    list_id: None,
                    subscriber_id,
                };
                (tag, Binding::Legacy)
            }),
            _ => None,
        }
    }
}

/// A tag with the secret of the reader it is for: the subscription's own secret goes into
/// the MAC, so once the reader is erased no tag of theirs names anyone, whatever id comes next.
#[derive(Debug, Clone, Copy)]
pub struct ReaderTag<'a> {
    pub tag: Tag,
    pub reader_secret: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Binding {
    /// Made before tags carried a reader's secret: the MAC covers the ids alone, and the caller
    /// checks that the delivery or reader still exists.
    Legacy,
    /// The MAC also covers the reader's secret, checked once it is looked up.
    Reader,
}

/// A tag read from an address whose MAC under the installation's key is still to be checked
/// against the reader's secret ([`Verp::holds`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub tag: Tag,
    binding: Binding,
    payload: String,
    mac: String,
}

impl Claim {
    /// A tag made before tags were bound to readers.
    pub fn is_legacy(&self) -> bool {
        self.binding == Binding::Legacy
    }
}

/// Hex digits of the HMAC kept in the tag: 64 bits, beyond guessing by sending reports.
const MAC_HEX: usize = 16;

#[derive(Clone)]
pub struct Verp {
    local_part: String,
    domain: String,
    key: hmac::Key,
}

impl std::fmt::Debug for Verp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verp")
            .field("local_part", &self.local_part)
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

impl Verp {
    pub fn new(local_part: &str, domain: &str, key: &[u8]) -> Self {
        Self {
            local_part: local_part.to_ascii_lowercase(),
            domain: domain.to_ascii_lowercase(),
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
        }
    }

    fn mac(&self, payload: &str, reader_secret: Option<&str>) -> String {
        let mut context = hmac::Context::with_key(&self.key);
        context.update(payload.as_bytes());
        if let Some(secret) = reader_secret {
            // A separator no payload holds: `r1.2` + `3…` never reads as `r1.23` + `…`.
            context.update(b"/");
            context.update(secret.as_bytes());
        }
        context
            .sign()
            .as_ref()
            .iter()
            .take(MAC_HEX / 2)
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    /// The envelope sender for `tag`. Lower case throughout: some servers fold the local part.
    pub fn address(&self, tag: ReaderTag<'_>) -> String {
        let payload = tag.tag.payload();
        format!(
            "{}+{payload}-{}@{}",
            self.local_part,
            self.mac(&payload, Some(tag.reader_secret)),
            self.domain
        )
    }

    /// The tag one of our envelope senders claims; `None` for any other address, or a legacy
    /// tag whose MAC does not match. A reader-bound tag is checked with [`Verp::holds`].
    pub fn parse(&self, address: &str) -> Option<Claim> {
        let address = address.trim().trim_matches(['<', '>']).to_ascii_lowercase();
        let (local, domain) = address.rsplit_once('@')?;
        if domain != self.domain {
            return None;
        }
        let tagged = local.strip_prefix(&self.local_part)?.strip_prefix('+')?;
        let (payload, mac) = tagged.rsplit_once('-')?;
        let (tag, binding) = Tag::from_payload(payload)?;
        let claim = Claim {
            tag,
            binding,
            payload: payload.to_string(),
            mac: mac.to_string(),
        };
        match claim.binding {
            Binding::Legacy => self.holds(&claim, None).then_some(claim),
            Binding::Reader => Some(claim),
        }
    }

    /// Whether `claim`'s MAC is ours for the reader whose secret is `reader_secret` (`None`:
    /// no such reader, or no longer). Compared in constant time: the MAC is the only secret in
    /// the address.
    pub fn holds(&self, claim: &Claim, reader_secret: Option<&str>) -> bool {
        let expected = match claim.binding {
            Binding::Legacy => self.mac(&claim.payload, None),
            Binding::Reader => match reader_secret {
                Some(secret) => self.mac(&claim.payload, Some(secret)),
                None => return false,
            },
        };
        aws_lc_rs::constant_time::verify_slices_are_equal(claim.mac.as_bytes(), expected.as_bytes())
            .is_ok()
    }

    /// Every tag of ours written anywhere in `text` (headers of a quoted message, a report's
    /// body), in order of appearance.
    pub fn find_in(&self, text: &str) -> Vec<Claim> {
        let lower = text.to_ascii_lowercase();
        let marker = format!("{}+", self.local_part);
        let mut found = Vec::new();
        let mut from = 0;
        while let Some(at) = lower[from..].find(&marker) {
            let start = from + at;
            let end = lower[start..]
                .find(|c: char| {
                    !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.' | '@' | '_'))
                })
                .map_or(lower.len(), |len| start + len);
            if let Some(claim) = self.parse(&lower[start..end]) {
                if !found.contains(&claim) {
                    found.push(claim);
                }
            }
            from = start + marker.len();
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verp() -> Verp {
        Verp::new(
            "bounces",
            "bounce.example.org",
            b"a key of thirty-two bytes, or so",
        )
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn delivery(edition_id: i64, subscriber_id: i64) -> Tag {
        Tag::Delivery {
            edition_id,
            subscriber_id,
        }
    }

    fn bound(tag: Tag) -> ReaderTag<'static> {
        ReaderTag {
            tag,
            reader_secret: SECRET,
        }
    }

    #[test]
    fn a_tag_survives_the_round_trip_and_any_case() {
        let verp = verp();
        for tag in [
            delivery(12, 345),
            Tag::Confirmation {
                list_id: Some(3),
                subscriber_id: 7,
            },
        ] {
            let address = verp.address(bound(tag));
            for written in [
                address.clone(),
                address.to_uppercase(),
                format!("<{address}>"),
            ] {
                let claim = verp.parse(&written).expect("ours");
                assert_eq!(claim.tag, tag);
                assert!(!claim.is_legacy());
                assert!(verp.holds(&claim, Some(SECRET)));
            }
        }
    }

    #[test]
    fn a_tag_names_nobody_once_its_reader_is_gone_or_another_holds_the_id() {
        let verp = verp();
        let claim = verp
            .parse(&verp.address(bound(delivery(12, 345))))
            .expect("ours");
        assert!(!verp.holds(&claim, None), "the reader was erased");
        assert!(
            !verp.holds(&claim, Some("the secret of a new reader with id 345")),
            "a new reader with the same id"
        );
    }

    #[test]
    fn tags_made_before_readers_secrets_still_parse() {
        let verp = verp();
        let payload = "d12.345";
        let legacy = format!(
            "bounces+{payload}-{}@bounce.example.org",
            verp.mac(payload, None)
        );
        let claim = verp.parse(&legacy).expect("a legacy tag");
        assert!(claim.is_legacy());
        assert_eq!(claim.tag, delivery(12, 345));
        let forged = legacy.replace("d12.345", "d12.346");
        assert_eq!(verp.parse(&forged), None, "someone else's delivery");
    }

    #[test]
    fn altered_or_foreign_tags_are_not_ours() {
        let verp = verp();
        let address = verp.address(bound(delivery(12, 345)));
        let altered = verp
            .parse(&address.replace("r12.345", "r12.346"))
            .expect("shaped like ours");
        assert!(
            !verp.holds(&altered, Some(SECRET)),
            "someone else's delivery"
        );
        let other_key = Verp::new("bounces", "bounce.example.org", b"another key");
        let claim = other_key.parse(&address).expect("shaped like ours");
        assert!(!other_key.holds(&claim, Some(SECRET)));
        assert_eq!(
            verp.parse(&address.replace("bounce.example.org", "example.net")),
            None
        );
        assert_eq!(
            verp.parse("bounces+d1.1-0000000000000000@bounce.example.org"),
            None
        );
        assert_eq!(verp.parse("not an address"), None);
    }

    #[test]
    fn tags_are_found_in_any_text() {
        let verp = verp();
        let tag = delivery(3, 9);
        let text = format!(
            "Return-Path: <{}>\nTo: bounces+x3.10-ffffffffffffffff@bounce.example.org",
            verp.address(bound(tag))
        );
        let found = verp.find_in(&text);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].tag, tag);
    }
}
