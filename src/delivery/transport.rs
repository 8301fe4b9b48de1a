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
                Ok(Connection::Smtp {
                    connection: Box::new(connection),
                    timeout: target.timeout,
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
    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
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
        Ok(connection)
    }
}

/// One open connection, kept by one worker across messages.
pub enum Connection {
    Smtp {
        connection: Box<AsyncSmtpConnection>,
        timeout: Duration,
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
            } => match tokio::time::timeout(*timeout, connection.send(envelope, message)).await {
                Ok(result) => result.map(|_| ()).map_err(SendError::from),
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
        } = self
        {
            let _ = tokio::time::timeout(timeout, connection.quit()).await;
        }
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
