//! Whose fault a failed send is. Only the server's answer to one recipient (its `RCPT TO`, or
//! the end of its `DATA`) is about that reader; everything else — the greeting, TLS, AUTH,
//! `MAIL FROM`, timeouts, dropped connections, `421`, a full outbox disk — is the server's or
//! ours, and must never change a reader's standing or cost them an edition.

use std::fmt;

use std::time::Duration;

use lettre::transport::smtp::Error as SmtpError;

use super::options::SendOptions;

/// Where in the exchange a failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Connect,
    /// The server's greeting or its answer to EHLO (lettre reads both in one step).
    Greeting,
    Tls,
    Auth,
    MailFrom,
    RcptTo,
    /// The `DATA` command itself.
    Data,
    /// The server's answer after the message was sent.
    EndOfData,
    /// Writing a message into the outbox directory.
    Outbox,
    /// Building the message: our side.
    Message,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "connect",
            Self::Greeting => "greeting/EHLO",
            Self::Tls => "TLS",
            Self::Auth => "AUTH",
            Self::MailFrom => "MAIL FROM",
            Self::RcptTo => "RCPT TO",
            Self::Data => "DATA",
            Self::EndOfData => "end of DATA",
            Self::Outbox => "outbox write",
            Self::Message => "building the message",
        })
    }
}

/// A failure of the server, the connection or our side. `permanent` ones (AUTH refused, sender
/// refused, certificate refused) will not heal by retrying: the run stops at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{target}: {stage}: {detail}")]
pub struct ServerFailure {
    /// `smtp HOST:PORT` or `outbox DIR`.
    pub target: String,
    pub stage: Stage,
    pub detail: String,
    pub permanent: bool,
}

/// Why one message was not handed over. The sender branches on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// 5xx to this recipient: a bounce.
    #[error("rejected at {stage}: {reply}")]
    Rejected { stage: Stage, reply: String },
    /// 4xx to this recipient alone: retried with backoff.
    #[error("deferred at {stage}: {reply}")]
    Deferred { stage: Stage, reply: String },
    /// This message cannot go to this recipient through this server (for example an address
    /// that needs SMTPUTF8 the server lacks): failed, but not a bounce.
    #[error("cannot be sent: {0}")]
    Unsendable(String),
    /// Not the recipient's doing: the row stays deliverable.
    #[error(transparent)]
    Server(#[from] ServerFailure),
}

impl SendError {
    /// Sorts a lettre error by the stage it happened at.
    pub fn classify(target: &str, stage: Stage, error: &SmtpError) -> Self {
        let reply = error.to_string();
        let server = |permanent: bool| {
            Self::Server(ServerFailure {
                target: target.to_string(),
                stage,
                // Logged at WARN: a reply about one message may quote its reader's address.
                detail: if matches!(stage, Stage::RcptTo | Stage::Data | Stage::EndOfData) {
                    redact_addresses(&reply)
                } else {
                    reply.clone()
                },
                permanent,
            })
        };
        if let Some(code) = error.status() {
            // 421: the server is closing the session, whatever command it answers.
            let closing = code.to_string() == "421";
            let about_recipient = matches!(stage, Stage::RcptTo | Stage::EndOfData);
            return match (about_recipient && !closing, error.is_permanent()) {
                (true, true) => Self::Rejected { stage, reply },
                (true, false) => Self::Deferred { stage, reply },
                (false, permanent) => server(permanent),
            };
        }
        // A certificate that is not trusted, or AUTH configured for a server that offers
        // none: retrying cannot help until the operator changes something.
        let misconfigured = error.is_tls() || (stage == Stage::Auth && error.is_client());
        server(misconfigured)
    }

    /// Building the message failed: our side, not the reader's, and retrying will not help.
    pub fn ours(detail: String) -> Self {
        Self::Server(ServerFailure {
            target: "herald".into(),
            stage: Stage::Message,
            detail,
            permanent: true,
        })
    }

    pub fn timed_out(target: &str, stage: Stage, after: std::time::Duration) -> Self {
        Self::Server(ServerFailure {
            target: target.to_string(),
            stage,
            detail: format!("no answer within {} s", after.as_secs()),
            permanent: false,
        })
    }
}

/// What becomes of one message after a failed send: the one decision, for an edition's
/// deliveries and for confirmation mails alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    /// Refused for good for this reader (a bounce when `bounce`), or it cannot go to them:
    /// never tried again.
    Failed { bounce: bool },
    /// The reader's server said "later": tried again after this long.
    RetryAfter(Duration),
    /// The reader's server said "later" to every attempt allowed: given up, not a bounce.
    Exhausted,
    /// The server or our side failed: the message is not charged to its reader and goes back
    /// to the queue; whoever sends pauses.
    Uncharged,
}

impl SendError {
    /// The fate of a message whose `attempts`-th try failed with this error.
    pub fn fate(&self, attempts: u32, options: &SendOptions) -> Fate {
        match self {
            Self::Rejected { .. } => Fate::Failed { bounce: true },
            Self::Unsendable(_) => Fate::Failed { bounce: false },
            Self::Deferred { .. } if attempts >= options.max_attempts => Fate::Exhausted,
            Self::Deferred { .. } => Fate::RetryAfter(options.backoff(attempts)),
            Self::Server(_) => Fate::Uncharged,
        }
    }
}

/// The text with every word that holds an `@` replaced, so a server's reply can be logged
/// without a reader's address.
pub fn redact_addresses(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            if word.contains('@') {
                "<address>"
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_lose_the_addresses_they_quote() {
        assert_eq!(
            redact_addresses("421 4.7.0 <Reader@Example.org>: try later"),
            "421 4.7.0 <address> try later"
        );
        assert_eq!(redact_addresses("451 local error"), "451 local error");
    }
}
