//! One returned message in, one kept report out: read it, find the delivery it is about from
//! its VERP tag, decide what it means for that reader, and do it in the same transaction as
//! keeping the report, so a report is applied exactly once however often it is delivered.

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use tracing::info;

use crate::app::App;
use crate::bounces::report::{self, Report, ReportKind};
use crate::bounces::verp::{Claim, Tag, Verp};
use crate::fingerprint::fingerprint;
use crate::store::begin_immediate;
use crate::store::bounces::{self, NewReport, SubscriptionOf};

/// The most of a report that is kept (and read): a DSN quotes the message it returns, which
/// need not be kept whole.
pub const MAX_KEPT_BYTES: usize = 256 * 1024;

/// The reader a report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reader {
    pub subscriber_id: i64,
    /// The edition whose delivery came back, when the report names it.
    pub edition_id: Option<i64>,
}

/// How a report names its reader.
enum Naming<'a> {
    /// VERP tags (mail), most likely first: only a tag that holds for its reader names anyone.
    Tags(Vec<Claim>),
    /// A provider's authenticated event: its tag if it carries one, else the address it names.
    Provider(Vec<Claim>, Option<&'a str>),
}

/// What became of one returned message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    pub kind: ReportKind,
    /// The reader the report is about, when it names one Herald can trust.
    pub reader: Option<Reader>,
    /// What Herald did, in words (also stored with the report).
    pub action: String,
    /// The same report was processed before: nothing changed this time.
    pub duplicate: bool,
}

impl Ingested {
    /// A bounce or complaint report that Herald acted on for one of its readers: a mailbox
    /// poller may remove it. Anything else (a delay warning, an auto-reply) is left where it
    /// was found, for a person to read.
    pub fn is_ours(&self) -> bool {
        self.reader.is_some()
            && matches!(
                self.kind,
                ReportKind::Hard | ReportKind::Soft | ReportKind::Complaint
            )
    }
}

/// Reads and applies one report. `envelope_recipient` is the address the MTA delivered it to,
/// when known (Postfix's `${original_recipient}`); else the tag is sought in the headers, then
/// anywhere in the text.
pub async fn ingest(
    app: &App,
    verp: Option<&Verp>,
    raw: &[u8],
    source: &str,
    envelope_recipient: Option<&str>,
) -> anyhow::Result<Ingested> {
    let kept = &raw[..raw.len().min(MAX_KEPT_BYTES)];
    let report = report::read(kept);
    let claims = verp.map_or_else(Vec::new, |verp| {
        find_claims(verp, &report, kept, envelope_recipient)
    });
    apply(
        app,
        verp,
        &report,
        kept,
        &fingerprint(&[raw]),
        source,
        Naming::Tags(claims),
    )
    .await
}

/// Applies one event a mail provider posted to a webhook, already authenticated by the webhook
/// secret: it names its reader by VERP tag if the event carries the envelope sender, else by
/// the recipient address it reports. `raw` is the request body (kept as evidence), `part`
/// tells apart the recipients of one body.
pub async fn ingest_event(
    app: &App,
    verp: Option<&Verp>,
    report: &Report,
    raw: &[u8],
    part: usize,
    source: &str,
) -> anyhow::Result<Ingested> {
    let kept = &raw[..raw.len().min(MAX_KEPT_BYTES)];
    let claims = verp.map_or_else(Vec::new, |verp| {
        report
            .addressed_to
            .iter()
            .filter_map(|address| verp.parse(address))
            .collect()
    });
    let naming = Naming::Provider(claims, report.recipient.as_deref());
    let fingerprint = fingerprint(&[raw, part.to_string().as_bytes()]);
    apply(app, verp, report, kept, &fingerprint, source, naming).await
}

async fn apply(
    app: &App,
    verp: Option<&Verp>,
    report: &Report,
    kept: &[u8],
    fingerprint: &str,
    source: &str,
    naming: Naming<'_>,
) -> anyhow::Result<Ingested> {
    let now = app.clock.now();
    let mut tx = begin_immediate(&app.pool).await?;
    let seen = bounces::seen_action(&mut tx, fingerprint).await?;
    let reader = match naming {
        Naming::Provider(claims, Some(email)) if claims.is_empty() => {
            bounces::subscriber_by_email(&mut tx, email)
                .await?
                .map(|subscriber_id| Reader {
                    subscriber_id,
                    edition_id: None,
                })
        }
        Naming::Tags(claims) | Naming::Provider(claims, _) => match verp {
            Some(verp) => first_reader(&mut tx, verp, &claims).await?,
            None => None,
        },
    };
    if let Some(action) = seen {
        tx.commit().await?;
        return Ok(Ingested {
            kind: report.kind,
            reader,
            action,
            duplicate: true,
        });
    }
    let action = decide(app, &mut tx, report, reader, now).await?;
    bounces::insert(
        &mut tx,
        &NewReport {
            source,
            kind: report.kind,
            fingerprint,
            subscriber_id: reader.map(|reader| reader.subscriber_id),
            edition_id: reader.and_then(|reader| reader.edition_id),
            recipient: report.recipient.as_deref(),
            status: report.status.as_deref(),
            diagnostic: report.diagnostic.as_deref(),
            feedback_type: report.feedback_type.as_deref(),
            report_message_id: report.message_id.as_deref(),
            action: &action,
            raw: kept,
        },
        now,
    )
    .await?;
    tx.commit().await.context("committing the report")?;
    info!(
        source,
        kind = report.kind.as_str(),
        subscriber_id = reader.map(|reader| reader.subscriber_id),
        status = report.status.as_deref(),
        "report processed: {action}"
    );
    Ok(Ingested {
        kind: report.kind,
        reader,
        action,
        duplicate: false,
    })
}

/// The reader of the first claim that holds: a tag bound to a reader's secret holds while
/// that reader's subscription exists; a tag made before that, while its delivery (or, for a
/// confirmation, its reader) does.
async fn first_reader(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    verp: &Verp,
    claims: &[Claim],
) -> anyhow::Result<Option<Reader>> {
    for claim in claims {
        let subscriber_id = claim.tag.subscriber_id();
        let holds = match (claim.tag, claim.is_legacy()) {
            (Tag::Delivery { edition_id, .. }, true) => {
                bounces::delivery_exists(tx, edition_id, subscriber_id).await?
            }
            (Tag::Confirmation { .. }, true) => {
                bounces::subscriber_exists(tx, subscriber_id).await?
            }
            (Tag::Delivery { edition_id, .. }, false) => {
                let of = SubscriptionOf::Edition(edition_id);
                let secret = bounces::reader_secret(tx, of, subscriber_id).await?;
                verp.holds(claim, secret.as_deref())
            }
            (
                Tag::Confirmation {
                    list_id: Some(list_id),
                    ..
                },
                false,
            ) => {
                let of = SubscriptionOf::List(list_id);
                let secret = bounces::reader_secret(tx, of, subscriber_id).await?;
                verp.holds(claim, secret.as_deref())
            }
            // A tag bound to a reader's secret always names its list.
            (Tag::Confirmation { list_id: None, .. }, false) => false,
        };
        if holds {
            return Ok(Some(Reader {
                subscriber_id,
                edition_id: claim.tag.edition_id(),
            }));
        }
    }
    Ok(None)
}

/// Our tags in the report, where it is most likely addressed first: the envelope recipient,
/// the addresses it was sent to, then anywhere in its text. A plain-text bounce names only
/// the tag in the copy of our message it quotes.
fn find_claims(
    verp: &Verp,
    report: &Report,
    raw: &[u8],
    envelope_recipient: Option<&str>,
) -> Vec<Claim> {
    if let Some(quoted_copy) = &report.quoted_copy {
        return unique(verp.find_in(quoted_copy));
    }
    let mut claims: Vec<Claim> = Vec::new();
    let addresses = envelope_recipient
        .into_iter()
        .chain(report.addressed_to.iter().map(String::as_str));
    for address in addresses {
        let found = verp.find_in(address);
        let found = if found.is_empty() {
            verp.parse(address).into_iter().collect()
        } else {
            found
        };
        claims.extend(found);
    }
    claims.extend(verp.find_in(&String::from_utf8_lossy(raw)));
    unique(claims)
}

/// `claims` in order, each once.
fn unique(claims: Vec<Claim>) -> Vec<Claim> {
    let mut unique = Vec::with_capacity(claims.len());
    for claim in claims {
        if !unique.contains(&claim) {
            unique.push(claim);
        }
    }
    unique
}

/// What the report means for the reader it is about, done in `tx`; returns it in words.
async fn decide(
    app: &App,
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    report: &Report,
    reader: Option<Reader>,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    let settings = &app.settings.bounces;
    let needs_a_reader = matches!(
        report.kind,
        ReportKind::Hard | ReportKind::Soft | ReportKind::Complaint
    );
    let subscriber_id = match reader {
        Some(reader) => reader.subscriber_id,
        None if needs_a_reader => {
            return Ok("none: it names no reader of Herald's (no valid VERP tag)".into())
        }
        None => 0,
    };
    Ok(match report.kind {
        ReportKind::Hard => {
            let lists = bounces::mark_bounced(tx, subscriber_id, now).await?;
            format!("marked bounced on {lists} list(s)")
        }
        ReportKind::Soft => {
            let window = Duration::days(settings.soft_window_days.into());
            let count = bounces::soft_count(tx, subscriber_id, now - window).await? + 1;
            if count >= i64::from(settings.soft_limit) {
                let lists = bounces::mark_bounced(tx, subscriber_id, now).await?;
                format!(
                    "marked bounced on {lists} list(s): {count} soft bounces within {} days",
                    settings.soft_window_days
                )
            } else {
                format!(
                    "counted: {count} of {} soft bounces within {} days",
                    settings.soft_limit, settings.soft_window_days
                )
            }
        }
        ReportKind::Complaint => {
            let lists = bounces::unsubscribe_everywhere(tx, subscriber_id, now).await?;
            format!("unsubscribed from {lists} list(s) after a spam complaint")
        }
        ReportKind::Delayed => "none: a delay warning, not a failure".into(),
        ReportKind::AutoReply => "ignored: an auto-reply".into(),
        ReportKind::Unrecognised => "none: not a report Herald can read".into(),
    })
}
