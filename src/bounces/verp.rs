//! VERP: every delivery leaves with its own envelope sender, `LOCAL+TAG@DOMAIN`, so the report
//! that comes back to it names the delivery even when it quotes nothing of the message. The tag
//! carries an HMAC under the installation's bounce key: a made-up or altered tag is not ours,
//! and nobody can bounce someone else's address by sending us a report.

use aws_lc_rs::hmac;

/// What a tagged envelope sender was used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Delivery { edition_id: i64, subscriber_id: i64 },
    Confirmation { subscriber_id: i64 },
}

impl Tag {
    pub fn subscriber_id(self) -> i64 {
        match self {
            Self::Delivery { subscriber_id, .. } | Self::Confirmation { subscriber_id } => {
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

    fn payload(self) -> String {
        match self {
            Self::Delivery {
                edition_id,
                subscriber_id,
            } => format!("d{edition_id}.{subscriber_id}"),
            Self::Confirmation { subscriber_id } => format!("c{subscriber_id}"),
        }
    }

    fn from_payload(payload: &str) -> Option<Self> {
        let number = |text: &str| text.parse::<i64>().ok().filter(|n| *n > 0);
        if let Some(rest) = payload.strip_prefix('d') {
            let (edition, subscriber) = rest.split_once('.')?;
            return Some(Self::Delivery {
                edition_id: number(edition)?,
                subscriber_id: number(subscriber)?,
            });
        }
        payload
            .strip_prefix('c')
            .and_then(number)
            .map(|subscriber_id| Self::Confirmation { subscriber_id })
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

    fn mac(&self, payload: &str) -> String {
        let tag = hmac::sign(&self.key, payload.as_bytes());
        tag.as_ref()
            .iter()
            .take(MAC_HEX / 2)
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    /// The envelope sender for `tag`. Lower case throughout: some servers fold the local part.
    pub fn address(&self, tag: Tag) -> String {
        let payload = tag.payload();
        format!(
            "{}+{payload}-{}@{}",
            self.local_part,
            self.mac(&payload),
            self.domain
        )
    }

    /// The tag of one of our envelope senders; `None` for any other address, or a tag whose
    /// HMAC does not match.
    pub fn parse(&self, address: &str) -> Option<Tag> {
        let address = address.trim().trim_matches(['<', '>']).to_ascii_lowercase();
        let (local, domain) = address.rsplit_once('@')?;
        if domain != self.domain {
            return None;
        }
        let tagged = local.strip_prefix(&self.local_part)?.strip_prefix('+')?;
        let (payload, mac) = tagged.rsplit_once('-')?;
        let expected = self.mac(payload);
        // Compared in constant time: the MAC is the only secret here.
        let same =
            aws_lc_rs::constant_time::verify_slices_are_equal(mac.as_bytes(), expected.as_bytes());
        if same.is_err() {
            return None;
        }
        Tag::from_payload(payload)
    }

    /// Every valid tag written anywhere in `text` (headers of a quoted message, a report's
    /// body), in order of appearance.
    pub fn find_in(&self, text: &str) -> Vec<Tag> {
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
            if let Some(tag) = self.parse(&lower[start..end]) {
                if !found.contains(&tag) {
                    found.push(tag);
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

    #[test]
    fn a_tag_survives_the_round_trip_and_any_case() {
        let verp = verp();
        for tag in [
            Tag::Delivery {
                edition_id: 12,
                subscriber_id: 345,
            },
            Tag::Confirmation { subscriber_id: 7 },
        ] {
            let address = verp.address(tag);
            assert_eq!(verp.parse(&address), Some(tag));
            assert_eq!(verp.parse(&address.to_uppercase()), Some(tag));
            assert_eq!(verp.parse(&format!("<{address}>")), Some(tag));
        }
    }

    #[test]
    fn altered_or_foreign_tags_are_not_ours() {
        let verp = verp();
        let address = verp.address(Tag::Delivery {
            edition_id: 12,
            subscriber_id: 345,
        });
        let altered = address.replace("d12.345", "d12.346");
        assert_eq!(verp.parse(&altered), None, "someone else's delivery");
        let other_key = Verp::new("bounces", "bounce.example.org", b"another key");
        assert_eq!(other_key.parse(&address), None);
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
        let tag = Tag::Delivery {
            edition_id: 3,
            subscriber_id: 9,
        };
        let text = format!(
            "Return-Path: <{}>\nTo: bounces+d3.10-ffffffffffffffff@bounce.example.org",
            verp.address(tag)
        );
        assert_eq!(verp.find_in(&text), vec![tag]);
    }
}
