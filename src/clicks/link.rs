//! Counted links: `/r/{link}` for the web copy, `/r/{link}/{tag}` in a message.
//!
//! The link part names the edition (its list and local date), the story and where the link stood,
//! and is signed once per edition. The tag part is a random value made for one message and signed
//! with the moment it was made; it is never written anywhere, and serves only to estimate how
//! many different messages clicked (see `domain::click_sketch`) and to tell a scanner's burst from a reader.
//! Both carry a MAC under the installation's link key, so nobody can mint or alter one.

use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Datelike, NaiveDate, Utc};

pub use crate::domain::LinkPlace as Place;

/// What a counted link points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkTarget {
    pub list_id: i64,
    pub local_date: NaiveDate,
    pub story_id: i64,
    pub place: Place,
}

/// One message's tag, read back from a click.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageTag {
    /// Uniformly random: the sketches use its bits directly.
    pub nonce: u64,
    /// When the message was made, to the second.
    pub issued_at: DateTime<Utc>,
}

const VERSION: u8 = 1;
// version, list id (u32), days from CE (i32), story id (u64), place
const LINK_BODY: usize = 1 + 4 + 4 + 8 + 1;
const LINK_MAC: usize = 10;
// nonce (u64), seconds since 1970 (u32)
const TAG_BODY: usize = 8 + 4;
const TAG_MAC: usize = 8;

/// Signs and reads counted links. The key is the installation's, so every node agrees.
#[derive(Clone)]
pub struct LinkKey {
    key: hmac::Key,
}

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(..)")
    }
}

impl LinkKey {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    fn mac(&self, domain: &[u8], body: &[u8]) -> hmac::Tag {
        let mut context = hmac::Context::with_key(&self.key);
        context.update(domain);
        context.update(body);
        context.sign()
    }

    /// The link part for `target`; `None` when an id does not fit the format (the story is then
    /// linked directly, uncounted).
    pub fn link(&self, target: &LinkTarget) -> Option<String> {
        let list = u32::try_from(target.list_id).ok()?;
        let story = u64::try_from(target.story_id).ok()?;
        let mut bytes = Vec::with_capacity(LINK_BODY + LINK_MAC);
        bytes.push(VERSION);
        bytes.extend_from_slice(&list.to_be_bytes());
        bytes.extend_from_slice(&target.local_date.num_days_from_ce().to_be_bytes());
        bytes.extend_from_slice(&story.to_be_bytes());
        bytes.push(target.place.code());
        let mac = self.mac(b"link", &bytes);
        bytes.extend_from_slice(&mac.as_ref()[..LINK_MAC]);
        Some(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The target of a link part, if this installation signed it.
    pub fn read_link(&self, raw: &str) -> Option<LinkTarget> {
        let bytes = decode_exact(raw, LINK_BODY + LINK_MAC)?;
        let (body, mac) = bytes.split_at(LINK_BODY);
        if !self.verify(b"link", body, mac) || body[0] != VERSION {
            return None;
        }
        let list = u32::from_be_bytes(body[1..5].try_into().ok()?);
        let days = i32::from_be_bytes(body[5..9].try_into().ok()?);
        let story = u64::from_be_bytes(body[9..17].try_into().ok()?);
        Some(LinkTarget {
            list_id: i64::from(list),
            local_date: NaiveDate::from_num_days_from_ce_opt(days)?,
            story_id: i64::try_from(story).ok()?,
            place: Place::from_code(body[17])?,
        })
    }

    /// A tag for one message made at `now`, from a random `nonce`.
    pub fn tag(&self, nonce: u64, now: DateTime<Utc>) -> String {
        let seconds = u32::try_from(now.timestamp()).unwrap_or(u32::MAX);
        let mut bytes = [0u8; TAG_BODY + TAG_MAC];
        bytes[..8].copy_from_slice(&nonce.to_be_bytes());
        bytes[8..TAG_BODY].copy_from_slice(&seconds.to_be_bytes());
        let mac = self.mac(b"tag", &bytes[..TAG_BODY]);
        bytes[TAG_BODY..].copy_from_slice(&mac.as_ref()[..TAG_MAC]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn read_tag(&self, raw: &str) -> Option<MessageTag> {
        let bytes = decode_exact(raw, TAG_BODY + TAG_MAC)?;
        let (body, mac) = bytes.split_at(TAG_BODY);
        if !self.verify(b"tag", body, mac) {
            return None;
        }
        let nonce = u64::from_be_bytes(body[..8].try_into().ok()?);
        let seconds = u32::from_be_bytes(body[8..].try_into().ok()?);
        Some(MessageTag {
            nonce,
            issued_at: DateTime::from_timestamp(i64::from(seconds), 0)?,
        })
    }

    fn verify(&self, domain: &[u8], body: &[u8], mac: &[u8]) -> bool {
        let expected = self.mac(domain, body);
        // Constant time: a MAC compared byte by byte early-out leaks how much of it was right.
        aws_lc_rs::constant_time::verify_slices_are_equal(&expected.as_ref()[..mac.len()], mac)
            .is_ok()
    }
}

fn decode_exact(raw: &str, len: usize) -> Option<Vec<u8>> {
    // Base64 of `len` bytes without padding; anything longer is not ours (and is not decoded).
    if raw.len() != (len * 4).div_ceil(3) {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    (bytes.len() == len).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn target() -> LinkTarget {
        LinkTarget {
            list_id: 7,
            local_date: NaiveDate::from_ymd_opt(2026, 12, 5).expect("a date"),
            story_id: 123_456,
            place: Place::Thumbnail,
        }
    }

    #[test]
    fn links_round_trip_and_refuse_any_change() {
        let key = LinkKey::new(b"k");
        let link = key.link(&target()).expect("fits");
        assert_eq!(key.read_link(&link), Some(target()));
        assert_eq!(LinkKey::new(b"other").read_link(&link), None);
        for index in 0..link.len() {
            let mut altered = link.clone().into_bytes();
            altered[index] = if altered[index] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(altered).expect("ascii");
            if altered != link {
                assert_eq!(key.read_link(&altered), None, "{altered}");
            }
        }
        assert_eq!(key.read_link(&format!("{link}A")), None);
        assert_eq!(key.read_link(""), None);
    }

    #[test]
    fn tags_round_trip_and_carry_their_second() {
        let key = LinkKey::new(b"k");
        let at = Utc
            .with_ymd_and_hms(2026, 12, 5, 6, 0, 1)
            .single()
            .expect("a time");
        let tag = key.tag(u64::MAX - 3, at);
        assert_eq!(
            key.read_tag(&tag),
            Some(MessageTag {
                nonce: u64::MAX - 3,
                issued_at: at
            })
        );
        assert_eq!(key.read_link(&tag), None);
        assert_eq!(LinkKey::new(b"x").read_tag(&tag), None);
    }
}
