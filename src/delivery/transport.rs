//! Where messages go: an SMTP server, or a directory of `.eml` files.
//!
//! SMTP connections are opened here rather than by lettre's pool so the socket gets
//! TCP_NODELAY: lettre writes the closing `\r\n.\r\n` as a separate small packet, which Nagle's
//! algorithm holds back until the server's delayed ACK, about 40 ms per message. Each delivery
//! worker keeps its connection open across messages.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt};
use lettre::transport::smtp::extension::ClientId;
use secrecy::ExposeSecret;
use tokio::net::TcpStream;

use crate::settings::{Settings, SmtpTls, TransportKind};

/// Why a message was not accepted. The caller branches on it: a transient failure is retried
/// with backoff, a permanent one is a bounce.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SendError {
    /// 4xx, a timeout, a refused or dropped connection: try again later.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// 5xx: the server refuses this message for good.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

impl From<lettre::transport::smtp::Error> for SendError {
    fn from(error: lettre::transport::smtp::Error) -> Self {
        if error.is_permanent() {
            Self::Permanent(error.to_string())
        } else {
            Self::Transient(error.to_string())
        }
    }
}

/// How to reach the server, from the settings.
#[derive(Clone)]
pub enum Transport {
    Smtp(SmtpTarget),
    File(PathBuf),
}

#[derive(Clone)]
pub struct SmtpTarget {
    host: String,
    port: u16,
    tls: SmtpTls,
    credentials: Option<Credentials>,
    timeout: Duration,
    hello: ClientId,
}

impl Transport {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        Ok(match settings.transport.kind {
            TransportKind::File => Self::File(settings.transport.outbox_dir.clone()),
            TransportKind::Smtp => {
                let smtp = &settings.smtp;
                let password = smtp.password.resolve()?;
                let credentials = match (&smtp.username, password) {
                    (Some(user), Some(password)) => {
                        Some(Credentials::new(user.clone(), password.expose_secret().to_string()))
                    }
                    (Some(_), None) => anyhow::bail!(
                        "smtp.username is set but no password (smtp.password_file or HERALD__SMTP__PASSWORD)"
                    ),
                    (None, _) => None,
                };
                Self::Smtp(SmtpTarget {
                    host: smtp.host.clone(),
                    port: smtp.port,
                    tls: smtp.tls,
                    credentials,
                    timeout: Duration::from_secs(smtp.timeout_secs),
                    hello: ClientId::default(),
                })
            }
        })
    }

    /// Opens one connection (for SMTP: greeting, EHLO, STARTTLS, AUTH).
    pub async fn connect(&self) -> Result<Connection, SendError> {
        match self {
            Self::File(dir) => {
                tokio::fs::create_dir_all(dir).await.map_err(|error| {
                    SendError::Transient(format!("creating outbox {}: {error}", dir.display()))
                })?;
                Ok(Connection::File(dir.clone()))
            }
            Self::Smtp(target) => {
                let connection = tokio::time::timeout(target.timeout, target.connect())
                    .await
                    .map_err(|_| {
                        SendError::Transient(format!(
                            "connecting to {}:{} timed out",
                            target.host, target.port
                        ))
                    })??;
                let (connection, pipelining) = connection;
                Ok(Connection::Smtp {
                    connection: Box::new(connection),
                    timeout: target.timeout,
                    pipelining,
                })
            }
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Self::File(dir) => format!("files in {}", dir.display()),
            Self::Smtp(target) => format!("smtp://{}:{}", target.host, target.port),
        }
    }
}

impl SmtpTarget {
    async fn connect(&self) -> Result<(AsyncSmtpConnection, bool), SendError> {
        let tls = || {
            TlsParameters::new(self.host.clone())
                .map_err(|error| SendError::Transient(error.to_string()))
        };
        let mut connection = match self.tls {
            // lettre must own the socket to wrap it in TLS from the first byte, so implicit TLS
            // keeps its default socket options.
            SmtpTls::Tls => {
                AsyncSmtpConnection::connect_tokio1(
                    (self.host.as_str(), self.port),
                    Some(self.timeout),
                    &self.hello,
                    Some(tls()?),
                    None,
                )
                .await?
            }
            SmtpTls::StartTls | SmtpTls::None => {
                let stream = TcpStream::connect((self.host.as_str(), self.port))
                    .await
                    .map_err(|error| {
                        SendError::Transient(format!(
                            "connecting to {}:{}: {error}",
                            self.host, self.port
                        ))
                    })?;
                stream.set_nodelay(true).map_err(|error| {
                    SendError::Transient(format!("setting TCP_NODELAY: {error}"))
                })?;
                let mut connection =
                    AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello)
                        .await?;
                if self.tls == SmtpTls::StartTls {
                    if !connection.can_starttls() {
                        return Err(SendError::Transient(format!(
                            "{}:{} does not offer STARTTLS (set smtp.tls = \"none\" only for a local relay)",
                            self.host, self.port
                        )));
                    }
                    connection.starttls(tls()?, &self.hello).await?;
                }
                connection
            }
        };
        if let Some(credentials) = &self.credentials {
            connection
                .auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await?;
        }
        // lettre keeps no record of PIPELINING, so ask again (a repeated EHLO is allowed and
        // resets nothing that matters here).
        let ehlo = connection.command(Ehlo::new(self.hello.clone())).await?;
        let pipelining = ehlo
            .message()
            .any(|line| line.trim().eq_ignore_ascii_case("PIPELINING"));
        Ok((connection, pipelining))
    }
}

/// One open connection, kept by one worker across messages.
pub enum Connection {
    Smtp {
        connection: Box<AsyncSmtpConnection>,
        timeout: Duration,
        /// The server advertised PIPELINING (RFC 2920).
        pipelining: bool,
    },
    File(PathBuf),
}

impl Connection {
    /// Hands one message over. `name` names the file for the file transport: the same message
    /// sent twice overwrites itself.
    pub async fn send(
        &mut self,
        envelope: &Envelope,
        message: &[u8],
        name: &str,
    ) -> Result<(), SendError> {
        match self {
            Self::Smtp {
                connection,
                timeout,
                pipelining,
            } => match tokio::time::timeout(
                *timeout,
                transmit(connection, *pipelining, envelope, message),
            )
            .await
            {
                Ok(result) => result.map_err(SendError::from),
                Err(_) => {
                    connection.abort().await;
                    Err(SendError::Transient(
                        "the server did not answer in time".into(),
                    ))
                }
            },
            Self::File(dir) => write_eml(dir, name, message)
                .await
                .map_err(|error| SendError::Transient(format!("{error:#}"))),
        }
    }

    /// A connection that failed mid-transaction cannot be reused.
    pub fn is_usable(&self) -> bool {
        match self {
            Self::Smtp { connection, .. } => !connection.has_broken(),
            Self::File(_) => true,
        }
    }

    pub async fn close(self) {
        if let Self::Smtp {
            mut connection,
            timeout,
            ..
        } = self
        {
            let _ = tokio::time::timeout(timeout, connection.quit()).await;
        }
    }
}

/// One SMTP transaction. lettre's `send` copies the message through a byte-at-a-time
/// dot-stuffing codec that costs more CPU than building the message; our messages are ASCII
/// (quoted-printable, encoded headers), so the DATA payload is stuffed here with a substring
/// search and written in one piece. Anything else goes through lettre's own path.
async fn transmit(
    connection: &mut AsyncSmtpConnection,
    pipelining: bool,
    envelope: &Envelope,
    message: &[u8],
) -> Result<(), lettre::transport::smtp::Error> {
    let ascii_addresses = envelope
        .from()
        .is_none_or(|from| AsRef::<str>::as_ref(from).is_ascii())
        && envelope
            .to()
            .iter()
            .all(|to| AsRef::<str>::as_ref(to).is_ascii());
    let text = match std::str::from_utf8(message) {
        Ok(text) if ascii_addresses && text.is_ascii() => text,
        _ => return connection.send(envelope, message).await.map(|_| ()),
    };
    let result = async {
        let mail = Mail::new(envelope.from().cloned(), Vec::new());
        if pipelining {
            // MAIL, RCPT and DATA in one write, then their answers in order (RFC 2920).
            let mut batch = mail.to_string();
            for to in envelope.to() {
                batch.push_str(&Rcpt::new(to.clone(), Vec::new()).to_string());
            }
            batch.push_str(&Data.to_string());
            connection.command(batch).await?;
            for _ in envelope.to() {
                connection.read_response().await?;
            }
            connection.read_response().await?;
        } else {
            connection.command(mail).await?;
            for to in envelope.to() {
                connection
                    .command(Rcpt::new(to.clone(), Vec::new()))
                    .await?;
            }
            connection.command(Data).await?;
        }
        connection.command(DataPayload(text)).await
    }
    .await;
    if result.is_err() {
        // As lettre does: a failed transaction leaves the session in an unknown state.
        connection.abort().await;
    }
    result.map(|_| ())
}

/// The message after DATA: lines starting with '.' get a second one (RFC 5321 4.5.2), then
/// the terminating `.` line.
struct DataPayload<'a>(&'a str);

impl std::fmt::Display for DataPayload<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut rest = self.0;
        if rest.starts_with('.') {
            f.write_str(".")?;
        }
        while let Some(at) = rest.find("\r\n.") {
            f.write_str(&rest[..at + 3])?;
            f.write_str(".")?;
            rest = &rest[at + 3..];
        }
        f.write_str(rest)?;
        if !self.0.is_empty() && !self.0.ends_with("\r\n") {
            f.write_str("\r\n")?;
        }
        f.write_str(".\r\n")
    }
}

/// Writes `dir/name.eml` whole or not at all.
async fn write_eml(dir: &std::path::Path, name: &str, message: &[u8]) -> anyhow::Result<()> {
    let path = dir.join(format!("{name}.eml"));
    let partial = dir.join(format!(".{name}.eml.partial"));
    tokio::fs::write(&partial, message)
        .await
        .with_context(|| format!("writing {}", partial.display()))?;
    tokio::fs::rename(&partial, &path)
        .await
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::DataPayload;

    #[test]
    fn data_payload_stuffs_leading_dots_and_terminates() {
        assert_eq!(
            DataPayload("a\r\n.b\r\n..c\r\nd.e\r\n").to_string(),
            "a\r\n..b\r\n...c\r\nd.e\r\n.\r\n"
        );
        assert_eq!(DataPayload(".x").to_string(), "..x\r\n.\r\n");
        assert_eq!(DataPayload("x\r\n.").to_string(), "x\r\n..\r\n.\r\n");
    }
}
