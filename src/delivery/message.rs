//! The complete MIME message for one subscriber, built from an edition rendered once.
//!
//! Both parts are quoted-printable. Each literal stretch of the rendered edition is encoded once
//! and ends in a soft line break, so per subscriber only the short slot values are encoded and
//! the rest is copied: the decoded part is exactly the filled template.

use std::time::SystemTime;

use anyhow::Context;
use chrono::{DateTime, Utc};
use lettre::message::header::{ContentTransferEncoding, ContentType, MIME_VERSION_1_0};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::Message;

use crate::bounces::verp::ReaderTag;
use crate::clicks::LinkKey;
use crate::delivery::headers::{AutoSubmitted, ListId, ListUnsubscribe, ListUnsubscribePost};
use crate::digest::template::{push_value, Greeting, Kind, Segment, Slot, SlotValues, Template};
use crate::digest::RenderedEdition;
use crate::domain::{EmailAddress, ListSlug};
use crate::settings::NewsletterSettings;

/// One recipient of an edition.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    pub email: &'a EmailAddress,
    pub name: Option<&'a str>,
    pub unsubscribe_url: &'a str,
    /// Unique per (edition, subscriber) and stable across resends, so a resend after a crash
    /// carries the same Message-ID and mail clients can fold the duplicate.
    pub message_key: &'a str,
    /// Which delivery a bounce of this message reports (VERP); `None` for a test copy.
    pub bounce_tag: Option<ReaderTag<'a>>,
    /// Whether the counted links carry a tag made for this message (a reader's copy), so
    /// unique clicks can be estimated; test copies and previews carry none.
    pub tag_links: bool,
}

/// Who sends a list's editions.
#[derive(Debug, Clone)]
pub struct ListIdentity<'a> {
    pub slug: &'a ListSlug,
    pub title: &'a str,
    /// The list's own sender, or `newsletter.from`, with the name readers see.
    pub from: Mailbox,
    /// The sender's domain: List-Id and Message-ID live under it.
    pub domain: &'a str,
}

enum EncodedSegment {
    Literal(Vec<u8>),
    Slot(Slot),
    Greeting(Greeting),
}

struct EncodedPart {
    kind: Kind,
    segments: Vec<EncodedSegment>,
    size_hint: usize,
}

// QP lines may hold 76 characters including the soft-break '='; 75 leaves room for ours.
const QP_LINE: usize = 75;

fn quoted_printable(text: &str, out: &mut Vec<u8>) {
    let options = quoted_printable::Options::default()
        .input_mode(quoted_printable::InputMode::Text)
        .line_length_limit(QP_LINE);
    // Line breaks in a MIME text part are CRLF; the templates write LF.
    let encoded = quoted_printable::encode_with_options(text.replace('\n', "\r\n"), options);
    out.extend_from_slice(encoded.as_bytes());
    if !encoded.ends_with("\r\n") {
        out.extend_from_slice(b"=\r\n");
    }
}

impl EncodedPart {
    fn new(template: &Template, kind: Kind) -> Self {
        let segments: Vec<EncodedSegment> = template
            .segments()
            .iter()
            .map(|segment| match segment {
                Segment::Literal(text) => {
                    let mut encoded = Vec::with_capacity(text.len() + text.len() / 16);
                    quoted_printable(text, &mut encoded);
                    EncodedSegment::Literal(encoded)
                }
                Segment::Slot(slot) => EncodedSegment::Slot(*slot),
                Segment::Greeting(greeting) => EncodedSegment::Greeting(greeting.clone()),
            })
            .collect();
        let size_hint = segments
            .iter()
            .map(|s| match s {
                EncodedSegment::Literal(bytes) => bytes.len(),
                EncodedSegment::Slot(_) | EncodedSegment::Greeting(_) => 200,
            })
            .sum();
        Self {
            kind,
            segments,
            size_hint,
        }
    }

    fn fill(&self, values: &SlotValues<'_>) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.size_hint);
        let mut value = String::new();
        for segment in &self.segments {
            match segment {
                EncodedSegment::Literal(bytes) => out.extend_from_slice(bytes),
                // Base64url and '/': nothing to escape or encode, and short enough for a line.
                EncodedSegment::Slot(Slot::ClickTag) => {
                    out.extend_from_slice(values.click_tag.as_bytes());
                    out.extend_from_slice(b"=\r\n");
                }
                EncodedSegment::Slot(slot) => {
                    value.clear();
                    push_value(&mut value, self.kind, &values.raw(*slot));
                    quoted_printable(&value, &mut out);
                }
                EncodedSegment::Greeting(greeting) => {
                    value.clear();
                    push_value(&mut value, self.kind, &greeting.for_reader(values.name));
                    quoted_printable(&value, &mut out);
                }
            }
        }
        out
    }
}

/// An edition ready to be personalised: everything that is the same for every subscriber is
/// computed here, once.
pub struct PreparedEdition {
    subject: String,
    from: Mailbox,
    reply_to: Option<Mailbox>,
    list_id: ListId,
    domain: String,
    text: EncodedPart,
    html: EncodedPart,
    /// Signs each message's click tag; `None` when the edition's links are not counted.
    link_key: Option<LinkKey>,
}

impl PreparedEdition {
    pub fn new(
        edition: &RenderedEdition,
        list: &ListIdentity<'_>,
        newsletter: &NewsletterSettings,
        link_key: &LinkKey,
    ) -> anyhow::Result<Self> {
        let counted =
            edition.html.has_slot(Slot::ClickTag) || edition.text.has_slot(Slot::ClickTag);
        let mailbox = |address: &EmailAddress| -> anyhow::Result<Mailbox> {
            let address = address.as_str().parse().context("reply-to address")?;
            Ok(Mailbox::new(Some(newsletter.name.clone()), address))
        };
        Ok(Self {
            subject: edition.subject.clone(),
            from: list.from.clone(),
            reply_to: newsletter.reply_to.as_ref().map(mailbox).transpose()?,
            list_id: ListId::new(list.title, list.slug.as_str(), list.domain),
            domain: list.domain.to_string(),
            text: EncodedPart::new(&edition.text, Kind::Text),
            html: EncodedPart::new(&edition.html, Kind::Html),
            link_key: counted.then(|| link_key.clone()),
        })
    }

    /// The message for one subscriber, dated `date`.
    pub fn message(
        &self,
        recipient: &Recipient<'_>,
        date: DateTime<Utc>,
    ) -> anyhow::Result<Message> {
        let click_tag = match &self.link_key {
            Some(key) if recipient.tag_links => format!("/{}", key.tag(rand::random(), date)),
            _ => String::new(),
        };
        let values = SlotValues {
            name: recipient.name,
            email: recipient.email.as_str(),
            unsubscribe_url: recipient.unsubscribe_url,
            click_tag: &click_tag,
        };
        let to = Mailbox::new(
            recipient.name.map(str::to_string),
            recipient
                .email
                .as_str()
                .parse()
                .context("recipient address")?,
        );
        let part = |content_type: ContentType, bytes: Vec<u8>| {
            SinglePart::builder()
                .header(content_type)
                .body(Body::dangerous_pre_encoded(
                    bytes,
                    ContentTransferEncoding::QuotedPrintable,
                ))
        };
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(self.subject.clone())
            .date(SystemTime::from(date))
            .message_id(Some(format!("<{}@{}>", recipient.message_key, self.domain)))
            .header(self.list_id.clone())
            .header(ListUnsubscribe(recipient.unsubscribe_url.to_string()))
            .header(ListUnsubscribePost)
            .header(AutoSubmitted);
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        let alternative = MultiPart::alternative()
            .singlepart(part(ContentType::TEXT_PLAIN, self.text.fill(&values)))
            .singlepart(part(ContentType::TEXT_HTML, self.html.fill(&values)));
        // lettre prints a multipart's Content-Type with the body, outside the message headers,
        // so its DKIM signer would list Content-Type in h= without hashing it and every
        // signature would fail. Hoisting the header into the message headers fixes that.
        let content_type = alternative
            .headers()
            .get::<ContentType>()
            .context("multipart without Content-Type")?;
        let header_block = alternative.headers().to_string().len() + 2;
        let formatted = alternative.formatted();
        let body = formatted
            .get(header_block..)
            .context("multipart body")?
            .to_vec();
        builder
            .header(content_type)
            .header(MIME_VERSION_1_0)
            .body(Body::dangerous_pre_encoded(
                body,
                ContentTransferEncoding::SevenBit,
            ))
            .context("building the message")
    }
}
