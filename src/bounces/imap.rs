//! Reading reports from an IMAP mailbox over TLS (async-imap on tokio-rustls). Messages are
//! fetched with `BODY.PEEK[]`, so nothing Herald only reads is marked seen; a bounce or
//! complaint report about one of Herald's deliveries is flagged `\Deleted` and expunged by UID
//! (UIDPLUS) once stored; anything else is left exactly as it was. Every wait is bounded.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures_util::TryStreamExt;
use rustls_pki_types::ServerName;
use secrecy::ExposeSecret;
use tokio::net::TcpStream;
use tracing::warn;

use crate::app::App;
use crate::bounces::ingest::ingest;
use crate::bounces::verp::Verp;
use crate::bounces::{Mailbox, MailboxPoll};
use crate::settings::ImapSettings;

/// The longest any one step (connect, TLS, a command's answer) may take.
const STEP: Duration = Duration::from_secs(60);

/// Messages fetched per command.
const BATCH: usize = 50;

async fn step<T, E>(
    what: &str,
    future: impl std::future::Future<Output = Result<T, E>>,
) -> anyhow::Result<T>
where
    E: std::error::Error + Send + Sync + 'static,
{
    tokio::time::timeout(STEP, future)
        .await
        .map_err(|_| anyhow::anyhow!("IMAP {what}: no answer within {} s", STEP.as_secs()))?
        .with_context(|| format!("IMAP {what}"))
}

/// Remembers what was read and left (by UID, for one UIDVALIDITY).
pub struct ImapMailbox {
    settings: ImapSettings,
    tls: tokio_rustls::TlsConnector,
    uid_validity: Option<u32>,
    examined: HashSet<u32>,
}

impl ImapMailbox {
    pub fn new(settings: ImapSettings) -> anyhow::Result<Self> {
        let config =
            crate::tls::client_config("bounces.imap_ca_file", settings.ca_file.as_deref())?;
        Ok(Self {
            settings,
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
            uid_validity: None,
            examined: HashSet::new(),
        })
    }
}

impl Mailbox for ImapMailbox {
    fn kind(&self) -> &'static str {
        "IMAP"
    }

    /// Reads every message not read before, in one session.
    async fn poll(&mut self, app: &App, verp: Option<&Verp>) -> anyhow::Result<MailboxPoll> {
        let settings = &self.settings;
        let target = format!("{}:{}", settings.host, settings.port);
        let tcp = step(
            "connect",
            TcpStream::connect((settings.host.as_str(), settings.port)),
        )
        .await
        .with_context(|| format!("reaching {target}"))?;
        let name = ServerName::try_from(settings.host.clone())
            .with_context(|| format!("{:?} as a TLS server name", settings.host))?;
        let tls = step("TLS", self.tls.connect(name, tcp)).await?;
        let mut client = async_imap::Client::new(tls);
        step("greeting", client.read_response()).await?;
        let password = settings
            .password
            .resolve()?
            .context("bounces.imap_password is not set")?;
        let mut session =
            tokio::time::timeout(STEP, client.login(&settings.user, password.expose_secret()))
                .await
                .map_err(|_| anyhow::anyhow!("IMAP login: no answer within {} s", STEP.as_secs()))?
                .map_err(|(error, _)| error)
                .with_context(|| format!("IMAP login as {} at {target}", settings.user))?;

        let mailbox = step("SELECT", session.select(&settings.mailbox)).await?;
        if mailbox.uid_validity != self.uid_validity {
            self.uid_validity = mailbox.uid_validity;
            self.examined.clear();
        }
        let uidplus = step("CAPABILITY", session.capabilities())
            .await?
            .has_str("UIDPLUS");
        let mut uids: Vec<u32> = step("UID SEARCH", session.uid_search("ALL"))
            .await?
            .into_iter()
            .filter(|uid| !self.examined.contains(uid))
            .collect();
        uids.sort_unstable();

        let mut poll = MailboxPoll::default();
        let mut ours = Vec::new();
        for batch in uids.chunks(BATCH) {
            let set = batch
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let fetched: Vec<async_imap::types::Fetch> = {
                let stream =
                    step("UID FETCH", session.uid_fetch(&set, "(UID BODY.PEEK[])")).await?;
                step("UID FETCH", stream.try_collect()).await?
            };
            for message in fetched {
                let (Some(uid), Some(body)) = (message.uid, message.body()) else {
                    continue;
                };
                let ingested = ingest(app, verp, body, "imap", None).await?;
                if ingested.is_ours() {
                    ours.push(uid);
                } else {
                    self.examined.insert(uid);
                    poll.left += 1;
                }
            }
        }
        if !ours.is_empty() {
            let set = ours
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",");
            {
                let stored = step(
                    "UID STORE",
                    session.uid_store(&set, "+FLAGS.SILENT (\\Deleted)"),
                )
                .await?;
                let _: Vec<_> = step("UID STORE", stored.try_collect()).await?;
            }
            if uidplus {
                let expunged = step("UID EXPUNGE", session.uid_expunge(&set)).await?;
                let _: Vec<_> = step("UID EXPUNGE", expunged.try_collect()).await?;
            } else {
                // A plain EXPUNGE would also remove what others flagged: leave them flagged.
                warn!("the IMAP server lacks UIDPLUS: stored reports stay flagged \\Deleted");
                self.examined.extend(ours.iter().copied());
            }
            poll.removed = ours.len() as u64;
        }
        let _ = step("LOGOUT", session.logout()).await;
        Ok(poll)
    }
}
