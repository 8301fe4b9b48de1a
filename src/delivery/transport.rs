//! Where messages go: an SMTP server, or a directory of `.eml` files.
//!
//! SMTP connections are opened here rather than by lettre's pool so the socket gets
//! TCP_NODELAY: lettre writes the closing `\r\n.\r\n` as a separate small packet, which Nagle's
//! algorithm holds back until the server's delayed ACK, about 40 ms per message. Each delivery
//! worker keeps its connection open across messages.
//!
//! Every wait on the server is bounded by `smtp.timeout_secs`, and every failure says at which
//! stage it happened (see [`failure`](crate::delivery::failure)), because the stage decides
//! whether it is a reader's bounce or the server's trouble.

use std::path::PathBuf;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use secrecy::ExposeSecret;
use tokio::net::TcpStream;

use crate::delivery::failure::{SendError, ServerFailure, Stage};
use crate::settings::{SecretSetting, Settings, SmtpTls, TransportKind};

/// How long a QUIT after a failure may take: the connection is being thrown away anyway.
const QUIT_WAIT: Duration = Duration::from_secs(2);

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
    /// Built once: the built-in roots, the system's and `smtp.ca_file`'s.
    tls_parameters: Option<TlsParameters>,
    username: Option<String>,
    /// Read when a connection authenticates, so commands that send nothing never need it.
    password: SecretSetting,
    timeout: Duration,
    hello: ClientId,
}

/// What a successful probe of the server found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeReport {
    pub target: String,
    pub encrypted: bool,
    pub authenticated: bool,
    pub pipelining: bool,
}

impl Transport {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        Ok(match settings.transport.kind {
            TransportKind::File => Self::File(settings.transport.outbox_dir.clone()),
            TransportKind::Smtp => {
                let smtp = &settings.smtp;
                let tls_parameters = match smtp.tls {
                    SmtpTls::None => None,
                    SmtpTls::Tls | SmtpTls::StartTls => Some(crate::tls::smtp_parameters(
                        &smtp.host,
                        smtp.ca_file.as_deref(),
                    )?),
                };
                Self::Smtp(SmtpTarget {
                    host: smtp.host.clone(),
                    port: smtp.port,
                    tls: smtp.tls,
                    tls_parameters,
                    username: smtp.username.clone(),
                    password: smtp.password.clone(),
                    timeout: Duration::from_secs(smtp.timeout_secs),
                    hello: ClientId::default(),
                })
            }
        })
    }

    /// Opens one connection (for SMTP: greeting, EHLO, STARTTLS, AUTH), within the timeout.
    pub async fn connect(&self) -> Result<Connection, SendError> {
        match self {
            Self::File(dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|error| outbox_failure(dir, &error))?;
                Ok(Connection::File(dir.clone()))
            }
            Self::Smtp(target) => {
                let mut stage = Stage::Connect;
                let connected =
                    tokio::time::timeout(target.timeout, target.connect(&mut stage)).await;
                let (connection, pipelining) = match connected {
                    Ok(result) => result?,
                    Err(_) => {
                        return Err(SendError::timed_out(&self.name(), stage, target.timeout))
                    }
                };
                Ok(Connection::Smtp {
                    connection: Box::new(connection),
                    target: self.name(),
                    timeout: target.timeout,
                    pipelining,
                })
            }
        }
    }

    /// Connects as for a message (TLS and AUTH included), then says goodbye: no mail is sent.
    /// For the file transport, checks that the outbox can be written.
    pub async fn probe(&self) -> Result<ProbeReport, ServerFailure> {
        let only_server = |error: SendError| match error {
            SendError::Server(failure) => failure,
            other => ServerFailure {
                target: self.name(),
                stage: Stage::Connect,
                detail: other.to_string(),
                permanent: true,
            },
        };
        let connection = self.connect().await.map_err(only_server)?;
        let report = match (&connection, self) {
            (
                Connection::Smtp {
                    connection: open,
                    pipelining,
                    ..
                },
                Self::Smtp(target),
            ) => ProbeReport {
                target: self.name(),
                encrypted: open.is_encrypted(),
                authenticated: target.username.is_some(),
                pipelining: *pipelining,
            },
            _ => {
                let Self::File(dir) = self else {
                    unreachable!("a file connection comes from the file transport")
                };
                let probe = dir.join(".herald-probe");
                tokio::fs::write(&probe, b"probe")
                    .await
                    .map_err(|error| outbox_failure(dir, &error))
                    .map_err(only_server)?;
                let _ = tokio::fs::remove_file(&probe).await;
                ProbeReport {
                    target: self.name(),
                    encrypted: false,
                    authenticated: false,
                    pipelining: false,
                }
            }
        };
        connection.close().await;
        Ok(report)
    }

    /// `smtp HOST:PORT` or `outbox DIR`: how failures name where they happened.
    pub fn name(&self) -> String {
        match self {
            Self::File(dir) => format!("outbox {}", dir.display()),
            Self::Smtp(target) => format!("smtp {}:{}", target.host, target.port),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Self::File(dir) => format!("files in {}", dir.display()),
            Self::Smtp(target) => format!("smtp://{}:{}", target.host, target.port),
        }
    }
}

fn outbox_failure(dir: &std::path::Path, error: &std::io::Error) -> SendError {
    use std::io::ErrorKind;
    SendError::Server(ServerFailure {
        target: format!("outbox {}", dir.display()),
        stage: Stage::Outbox,
        detail: error.to_string(),
        // A full disk may clear; a directory we may not write to will not.
        permanent: matches!(
            error.kind(),
            ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem | ErrorKind::NotADirectory
        ),
    })
}

impl SmtpTarget {
    fn credentials(&self) -> Result<Option<Credentials>, SendError> {
        let Some(user) = &self.username else {
            return Ok(None);
        };
        let refuse = |detail: String| {
            SendError::Server(ServerFailure {
                target: format!("smtp {}:{}", self.host, self.port),
                stage: Stage::Auth,
                detail,
                permanent: true,
            })
        };
        match self.password.resolve() {
            Ok(Some(password)) => Ok(Some(Credentials::new(
                user.clone(),
                password.expose_secret().to_string(),
            ))),
            Ok(None) => Err(refuse(
                "smtp.username is set but no password (smtp.password_file or HERALD__SMTP__PASSWORD)"
                    .into(),
            )),
            Err(error) => Err(refuse(format!("{}", crate::error::OneLine(&error)))),
        }
    }

    /// Greeting, EHLO, TLS and AUTH. `stage` follows along, so a timeout names where it hung.
    async fn connect(&self, stage: &mut Stage) -> Result<(AsyncSmtpConnection, bool), SendError> {
        let target = format!("smtp {}:{}", self.host, self.port);
        let at = |stage: Stage| {
            let target = target.clone();
            move |error: lettre::transport::smtp::Error| SendError::classify(&target, stage, &error)
        };
        let tls = || {
            self.tls_parameters.clone().ok_or_else(|| {
                SendError::Server(ServerFailure {
                    target: target.clone(),
                    stage: Stage::Tls,
                    detail: "no TLS parameters".into(),
                    permanent: true,
                })
            })
        };
        *stage = Stage::Connect;
        let mut connection = match self.tls {
            // lettre must own the socket to wrap it in TLS from the first byte, so implicit TLS
            // keeps its default socket options, and its one step is sorted afterwards.
            SmtpTls::Tls => AsyncSmtpConnection::connect_tokio1(
                (self.host.as_str(), self.port),
                Some(self.timeout),
                &self.hello,
                Some(tls()?),
                None,
            )
            .await
            .map_err(|error| {
                let stage = if error.is_tls() {
                    Stage::Tls
                } else if error.status().is_some() {
                    Stage::Greeting
                } else {
                    Stage::Connect
                };
                SendError::classify(&target, stage, &error)
            })?,
            SmtpTls::StartTls | SmtpTls::None => {
                let stream = TcpStream::connect((self.host.as_str(), self.port))
                    .await
                    .map_err(|error| {
                        SendError::Server(ServerFailure {
                            target: target.clone(),
                            stage: Stage::Connect,
                            detail: error.to_string(),
                            permanent: false,
                        })
                    })?;
                let _ = stream.set_nodelay(true);
                *stage = Stage::Greeting;
                AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello)
                    .await
                    .map_err(at(Stage::Greeting))?
            }
        };
        if self.tls == SmtpTls::StartTls {
            *stage = Stage::Tls;
            if !connection.can_starttls() {
                return Err(SendError::Server(ServerFailure {
                    target: target.clone(),
                    stage: Stage::Tls,
                    detail: "the server does not offer STARTTLS (set smtp.tls = \"none\" only for a local relay)".into(),
                    permanent: true,
                }));
            }
            connection
                .starttls(tls()?, &self.hello)
                .await
                .map_err(at(Stage::Tls))?;
        }
        if let Some(credentials) = self.credentials()? {
            *stage = Stage::Auth;
            connection
                .auth(&[Mechanism::Plain, Mechanism::Login], &credentials)
                .await
                .map_err(at(Stage::Auth))?;
        }
        // lettre keeps no record of PIPELINING, so ask again (a repeated EHLO is allowed and
        // resets nothing that matters here).
        *stage = Stage::Greeting;
        let ehlo = connection
            .command(Ehlo::new(self.hello.clone()))
            .await
            .map_err(at(Stage::Greeting))?;
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
        target: String,
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
                target,
                timeout,
                pipelining,
            } => {
                let mut stage = Stage::MailFrom;
                let sent = tokio::time::timeout(
                    *timeout,
                    transmit(connection, *pipelining, envelope, message, &mut stage),
                )
                .await;
                let result = match sent {
                    Ok(result) => result.map_err(|failure| match failure {
                        Failure::Smtp(error) => SendError::classify(target, stage, &error),
                        Failure::Unsendable(why) => SendError::Unsendable(why.into()),
                    }),
                    Err(_) => Err(SendError::timed_out(target, stage, *timeout)),
                };
                if result.is_err() {
                    // As lettre does: a failed transaction leaves the session in an unknown
                    // state. The goodbye is bounded: a hung server must not hang us.
                    let _ = tokio::time::timeout(QUIT_WAIT, connection.abort()).await;
                }
                result
            }
            Self::File(dir) => write_eml(dir, name, message)
                .await
                .map_err(|error| outbox_failure(dir, &error)),
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
            let _ = tokio::time::timeout(timeout.min(QUIT_WAIT), connection.quit()).await;
        }
    }
}

enum Failure {
    Smtp(lettre::transport::smtp::Error),
    /// Refused before anything was said to the server.
    Unsendable(&'static str),
}

impl From<lettre::transport::smtp::Error> for Failure {
    fn from(error: lettre::transport::smtp::Error) -> Self {
        Self::Smtp(error)
    }
}

/// One SMTP transaction, command by command, so every answer is read at a known stage.
/// The DATA payload of an ASCII message is dot-stuffed here with a substring search and written
/// in one piece: lettre's byte-at-a-time codec costs more CPU than building the message.
async fn transmit(
    connection: &mut AsyncSmtpConnection,
    pipelining: bool,
    envelope: &Envelope,
    message: &[u8],
    stage: &mut Stage,
) -> Result<(), Failure> {
    let mut parameters = Vec::new();
    let non_ascii_address = envelope
        .from()
        .into_iter()
        .chain(envelope.to())
        .any(|address| !AsRef::<str>::as_ref(address).is_ascii());
    if non_ascii_address {
        if !connection
            .server_info()
            .supports_feature(Extension::SmtpUtfEight)
        {
            return Err(Failure::Unsendable(
                "the address needs SMTPUTF8, which the server does not offer",
            ));
        }
        parameters.push(MailParameter::SmtpUtfEight);
    }
    let ascii = std::str::from_utf8(message)
        .ok()
        .filter(|text| text.is_ascii());
    if ascii.is_none() {
        if !connection
            .server_info()
            .supports_feature(Extension::EightBitMime)
        {
            return Err(Failure::Unsendable(
                "the message is 8-bit and the server does not offer 8BITMIME",
            ));
        }
        parameters.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    let mail = Mail::new(envelope.from().cloned(), parameters);
    *stage = Stage::MailFrom;
    if pipelining {
        // MAIL, RCPT and DATA in one write, then their answers in order (RFC 2920).
        let mut batch = mail.to_string();
        for to in envelope.to() {
            batch.push_str(&Rcpt::new(to.clone(), Vec::new()).to_string());
        }
        batch.push_str(&Data.to_string());
        connection.command(batch).await?;
        *stage = Stage::RcptTo;
        for _ in envelope.to() {
            connection.read_response().await?;
        }
        *stage = Stage::Data;
        connection.read_response().await?;
    } else {
        connection.command(mail).await?;
        *stage = Stage::RcptTo;
        for to in envelope.to() {
            connection
                .command(Rcpt::new(to.clone(), Vec::new()))
                .await?;
        }
        *stage = Stage::Data;
        connection.command(Data).await?;
    }
    *stage = Stage::EndOfData;
    match ascii {
        Some(text) => connection.command(DataPayload(text)).await?,
        None => connection.message(message).await?,
    };
    Ok(())
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
async fn write_eml(dir: &std::path::Path, name: &str, message: &[u8]) -> std::io::Result<()> {
    let path = dir.join(format!("{name}.eml"));
    let partial = dir.join(format!(".{name}.eml.partial"));
    tokio::fs::write(&partial, message).await?;
    tokio::fs::rename(&partial, &path).await
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
