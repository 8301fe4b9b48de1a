//! The one way out for mail. Every message Herald sends — edition deliveries, test copies, the
//! preview `.eml`, sign-up confirmations — gets its sender, Message-ID and DKIM signature here,
//! and leaves through the transport held here, so a new kind of mail cannot forget to sign.

use std::sync::Arc;
use std::time::SystemTime;

use anyhow::Context;
use chrono::{DateTime, Utc};
use lettre::address::Envelope;
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;

use crate::app::App;
use crate::bounces::{self, verp::ReaderTag, verp::Verp};
use crate::clicks::LinkKey;
use crate::delivery::dkim::DkimSigner;
use crate::delivery::failure::SendError;
use crate::delivery::headers::AutoSubmitted;
use crate::delivery::message::{ListIdentity, PreparedEdition, Recipient};
use crate::delivery::transport::Transport;
use crate::digest::RenderedEdition;
use crate::domain::{EmailAddress, Sender};
use crate::settings::NewsletterSettings;
use crate::store::installation;
use crate::store::lists::ListRecord;

/// A message ready for the wire: its envelope and its signed bytes.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub envelope: Envelope,
    pub bytes: Vec<u8>,
}

#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    signer: Option<DkimSigner>,
    newsletter: NewsletterSettings,
    /// Makes Message-IDs unique beyond this database.
    installation: String,
    /// Tags each message's envelope sender, when `bounces.domain` is set.
    verp: Option<Verp>,
    /// Signs each reader's click tag.
    link_key: LinkKey,
}

impl Mailer {
    /// Loads and checks the DKIM key (a bad key fails here, before anything is built) and sets
    /// up the transport.
    pub async fn new(app: &App) -> anyhow::Result<Self> {
        let signer = app
            .settings
            .dkim
            .as_ref()
            .map(DkimSigner::from_settings)
            .transpose()?;
        Ok(Self {
            inner: Arc::new(Inner {
                transport: Transport::from_settings(&app.settings)?,
                signer,
                newsletter: app.settings.newsletter.clone(),
                installation: installation::id(&app.pool).await?,
                verp: bounces::verp(app).await?,
                link_key: LinkKey::load(&app.pool).await?,
            }),
        })
    }

    pub fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    pub fn signer(&self) -> Option<&DkimSigner> {
        self.inner.signer.as_ref()
    }

    /// Who a list's mail comes from: its own `--from`, else `newsletter.from`.
    pub fn sender<'a>(&'a self, list: &'a ListRecord) -> &'a Sender {
        list.from_address
            .as_ref()
            .unwrap_or(&self.inner.newsletter.from)
    }

    /// The mailbox readers see: the sender's own name, else `newsletter.name`.
    fn mailbox(&self, sender: &Sender) -> anyhow::Result<Mailbox> {
        let address = sender
            .address()
            .as_str()
            .parse()
            .context("sender address")?;
        let name = sender.name().unwrap_or(&self.inner.newsletter.name);
        Ok(Mailbox::new(Some(name.to_string()), address))
    }

    /// The left part of a Message-ID: the same for the same `key` (so a resend after a crash
    /// carries the same id and clients fold the duplicate), unique to this installation.
    pub fn message_key(&self, key: &str) -> String {
        format!("herald.{key}.{}", self.inner.installation)
    }

    /// An edition made ready to personalise, with the list's sender.
    pub fn prepare_edition(
        &self,
        edition: &RenderedEdition,
        list: &ListRecord,
    ) -> anyhow::Result<PreparedEdition> {
        let sender = self.sender(list);
        let identity = ListIdentity {
            slug: &list.slug,
            title: list.title.as_str(),
            from: self.mailbox(sender)?,
            domain: sender.address().domain(),
        };
        PreparedEdition::new(
            edition,
            &identity,
            &self.inner.newsletter,
            &self.inner.link_key,
        )
    }

    /// One reader's copy of a prepared edition, signed. A failure here is ours, not theirs.
    pub fn edition_message(
        &self,
        prepared: &PreparedEdition,
        recipient: &Recipient<'_>,
        now: DateTime<Utc>,
    ) -> Result<Outgoing, SendError> {
        let message = prepared
            .message(recipient, now)
            .map_err(|error| SendError::ours(format!("{}", crate::error::OneLine(&error))))?;
        self.seal(&message, now, recipient.bounce_tag)
            .map_err(SendError::ours)
    }

    /// The double opt-in mail for a sign-up.
    pub fn confirmation(
        &self,
        content: &ConfirmationContent<'_>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Outgoing> {
        let newsletter = &self.inner.newsletter;
        let to = Mailbox::new(
            None,
            content.to.as_str().parse().context("recipient address")?,
        );
        let message = Message::builder()
            .from(self.mailbox(&newsletter.from)?)
            .to(to)
            .subject(content.subject)
            .date(SystemTime::from(now))
            .message_id(Some(format!(
                "<{}@{}>",
                self.message_key(content.key),
                newsletter.from.address().domain()
            )))
            .header(AutoSubmitted)
            .multipart(MultiPart::alternative_plain_html(
                content.text.to_string(),
                content.html.to_string(),
            ))
            .context("building the confirmation mail")?;
        self.seal(&message, now, content.bounce_tag)
            .map_err(anyhow::Error::msg)
    }

    /// The message's bytes with its DKIM signature(s), and its envelope: from the tagged
    /// bounce address (VERP) when there is a tag and `bounces.domain` is set, else from the
    /// message's From.
    pub fn seal(
        &self,
        message: &Message,
        now: DateTime<Utc>,
        bounce_tag: Option<ReaderTag<'_>>,
    ) -> Result<Outgoing, String> {
        let bytes = message.formatted();
        let bytes = match &self.inner.signer {
            Some(signer) => signer.sign(&bytes, now.timestamp())?,
            None => bytes,
        };
        let envelope = match (&self.inner.verp, bounce_tag) {
            (Some(verp), Some(tag)) => {
                let return_path = verp
                    .address(tag)
                    .parse()
                    .map_err(|error| format!("the bounce address: {error}"))?;
                Envelope::new(Some(return_path), message.envelope().to().to_vec())
                    .map_err(|error| format!("the envelope: {error}"))?
            }
            _ => message.envelope().clone(),
        };
        Ok(Outgoing { envelope, bytes })
    }

    /// Sends one message on a connection of its own (test copies, confirmations). `name`
    /// names the file for the file transport.
    pub async fn send_one(&self, outgoing: &Outgoing, name: &str) -> Result<(), SendError> {
        let mut connection = self.inner.transport.connect().await?;
        let result = connection
            .send(&outgoing.envelope, &outgoing.bytes, name)
            .await;
        connection.close().await;
        result
    }
}

/// What a confirmation mail says; its words come from the page templates.
pub struct ConfirmationContent<'a> {
    pub to: &'a EmailAddress,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    /// Stable per sign-up, for the Message-ID.
    pub key: &'a str,
    /// A bounce of the confirmation mail marks the address bounced (VERP).
    pub bounce_tag: Option<ReaderTag<'a>>,
}
