//! SMTP peers for the delivery tests: aiosmtpd (a real server this project did not write) and a
//! small fault injector of our own for 4xx, 5xx, drops and slow answers.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader as AsyncBufReader};
use tokio::net::TcpListener;

/// The Python with aiosmtpd and dkimpy that `.ci/test` installs.
pub fn python() -> PathBuf {
    let path = std::env::var_os("HERALD_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/.venv-test/bin/python"
            ))
        });
    assert!(
        path.exists(),
        "{} is missing: run the tests with `bash .ci/test`, which installs it",
        path.display()
    );
    path
}

pub fn support(script: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support")).join(script)
}

/// aiosmtpd on a free port of 127.0.0.1, keeping every message it accepts.
pub struct RealSmtp {
    child: Child,
    pub port: u16,
    maildir: tempfile::TempDir,
}

impl RealSmtp {
    pub fn start() -> Self {
        Self::start_with_delay(0.0)
    }

    /// Every DATA answer waits `delay` seconds.
    pub fn start_with_delay(delay: f64) -> Self {
        Self::start_with_args(&["--delay", &delay.to_string()])
    }

    /// Offers STARTTLS with this certificate and key (PEM files), and takes mail only over TLS.
    pub fn start_with_tls(certificate: &std::path::Path, key: &std::path::Path) -> Self {
        Self::start_with_args(&[
            "--tls-cert",
            &certificate.display().to_string(),
            "--tls-key",
            &key.display().to_string(),
        ])
    }

    fn start_with_args(args: &[&str]) -> Self {
        let maildir = tempfile::tempdir().expect("maildir");
        let mut child = Command::new(python())
            .arg(support("smtp_server.py"))
            .arg(maildir.path().join("mail"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("aiosmtpd starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("aiosmtpd reports its port");
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected: {line}"));
        Self {
            child,
            port,
            maildir,
        }
    }

    /// Every message received so far, raw.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let new = self.maildir.path().join("mail").join("new");
        let mut files: Vec<_> = std::fs::read_dir(&new)
            .map(|dir| dir.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .map(|path| std::fs::read(path).expect("read message"))
            .collect()
    }

    /// The envelope recipient of every message, in arrival order.
    pub fn recipients(&self) -> Vec<String> {
        self.messages()
            .iter()
            .map(|raw| {
                let text = String::from_utf8_lossy(raw);
                let first = text.lines().next().unwrap_or_default();
                first
                    .trim_start_matches("X-Envelope-To: ")
                    .trim()
                    .to_string()
            })
            .collect()
    }

    /// The envelope sender (MAIL FROM) of every message, in arrival order.
    pub fn senders(&self) -> Vec<String> {
        self.messages()
            .iter()
            .filter_map(|raw| {
                String::from_utf8_lossy(raw)
                    .lines()
                    .find_map(|line| line.strip_prefix("X-Envelope-From: "))
                    .map(|sender| sender.trim().to_string())
            })
            .collect()
    }

    /// How many messages arrived so far (cheap: counts files).
    pub fn count(&self) -> usize {
        std::fs::read_dir(self.maildir.path().join("mail").join("new"))
            .map(|dir| dir.count())
            .unwrap_or(0)
    }

    pub fn wait_for(&self, count: usize, limit: Duration) -> usize {
        let started = Instant::now();
        loop {
            let received = self.count();
            if received >= count || started.elapsed() > limit {
                return received;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RealSmtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the fault injector does to one recipient.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// `451` at RCPT for the first `n` attempts, then accept.
    TempFail(usize),
    /// `550` at RCPT, always.
    Reject,
    /// Close the connection in the middle of the message, the first `n` times.
    DropInData(usize),
    /// Wait this long before answering the end of DATA, the first time.
    SlowOnce(Duration),
}

/// What the fault injector does to every session: a broken or misconfigured server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerFault {
    /// `554` instead of the greeting: this server will not serve us.
    Greeting554,
    /// `550` to `MAIL FROM`: our sender address is refused.
    MailFrom550,
    /// `535` to AUTH: a wrong password.
    Auth535,
    /// `421` at once: the service is not available.
    Everything421,
    /// Accepts the TCP connection and never says a word.
    SilentAfterConnect,
    /// Takes the whole message and never answers the final dot.
    SilentAfterData,
    /// Accepts this many messages, then dies: every connection closes, new ones are refused.
    DiesAfter(usize),
}

#[derive(Default)]
struct FaultState {
    faults: HashMap<String, Fault>,
    server_fault: Option<ServerFault>,
    attempts: HashMap<String, usize>,
    accepted: Vec<String>,
    /// Messages whose final dot arrived, answered or not.
    data_received: usize,
}

/// A scripted SMTP peer: accepts everything except what its faults say.
#[derive(Clone)]
pub struct FaultySmtp {
    pub port: u16,
    state: Arc<Mutex<FaultState>>,
    alive: Arc<tokio::sync::watch::Sender<bool>>,
}

impl FaultySmtp {
    pub async fn start(faults: &[(&str, Fault)]) -> Self {
        Self::start_with(faults, None).await
    }

    /// A server broken as `fault` says, until [`clear_faults`](Self::clear_faults).
    pub async fn broken(fault: ServerFault) -> Self {
        Self::start_with(&[], Some(fault)).await
    }

    async fn start_with(faults: &[(&str, Fault)], server_fault: Option<ServerFault>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(Mutex::new(FaultState {
            faults: faults.iter().map(|(a, f)| (a.to_string(), *f)).collect(),
            server_fault,
            ..Default::default()
        }));
        let (alive, _) = tokio::sync::watch::channel(true);
        let server = Self {
            port,
            state,
            alive: Arc::new(alive),
        };
        let accept = server.clone();
        tokio::spawn(async move { accept.listen(Some(listener)).await });
        server
    }

    /// Accepts sessions while the server is alive; a dead server holds no listener (so
    /// connections are refused) until it is revived on the same port.
    async fn listen(self, mut listener: Option<TcpListener>) {
        let mut alive = self.alive.subscribe();
        loop {
            if !*alive.borrow_and_update() {
                listener = None;
                if alive.changed().await.is_err() {
                    return;
                }
                continue;
            }
            let bound = match listener.take() {
                Some(bound) => bound,
                None => match TcpListener::bind(("127.0.0.1", self.port)).await {
                    Ok(bound) => bound,
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                },
            };
            loop {
                tokio::select! {
                    accepted = bound.accept() => match accepted {
                        Ok((socket, _)) => {
                            let session = self.clone();
                            tokio::spawn(async move { session.serve(socket).await });
                        }
                        Err(_) => break,
                    },
                    changed = alive.changed() => {
                        if changed.is_err() { return; }
                        if !*alive.borrow() { break; }
                    }
                }
            }
        }
    }

    /// The fault is fixed: from now on every recipient is accepted and a dead server is back.
    pub async fn clear_faults(&self) {
        {
            let mut state = self.state.lock().expect("state");
            state.faults.clear();
            state.server_fault = None;
        }
        if !self.alive.send_replace(true) {
            // Back from the dead: wait until the port listens again.
            let started = Instant::now();
            while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_err()
            {
                assert!(started.elapsed() < Duration::from_secs(5), "server revives");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }

    /// Messages whose final dot arrived, whether or not the server answered.
    pub fn data_received(&self) -> usize {
        self.state.lock().expect("state").data_received
    }

    fn server_fault(&self) -> Option<ServerFault> {
        self.state.lock().expect("state").server_fault
    }

    /// Recipients whose message was accepted with 250, in order.
    pub fn accepted(&self) -> Vec<String> {
        self.state.lock().expect("state").accepted.clone()
    }

    /// The fault is fixed: from now on every recipient is accepted.
    pub fn attempts(&self, address: &str) -> usize {
        self.state
            .lock()
            .expect("state")
            .attempts
            .get(address)
            .copied()
            .unwrap_or(0)
    }

    async fn serve(&self, socket: tokio::net::TcpStream) {
        let (read, mut write) = socket.into_split();
        let mut lines = AsyncBufReader::new(read);
        let fault = self.server_fault();
        let greeting: &[u8] = match fault {
            Some(ServerFault::Greeting554) => b"554 5.3.2 faulty.test will not serve you\r\n",
            Some(ServerFault::Everything421) => {
                let _ = write
                    .write_all(b"421 4.3.2 faulty.test service not available\r\n")
                    .await;
                return;
            }
            Some(ServerFault::SilentAfterConnect) => {
                // Hold the connection open, say nothing, until the client gives up.
                let mut sink = Vec::new();
                let _ = tokio::io::AsyncReadExt::read_to_end(&mut lines, &mut sink).await;
                return;
            }
            _ => b"220 faulty.test ESMTP\r\n",
        };
        let _ = write.write_all(greeting).await;
        let mut rcpt = String::new();
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            if !*self.alive.borrow() {
                return;
            }
            let command = line.trim_end().to_ascii_uppercase();
            let reply: String = if fault == Some(ServerFault::Greeting554)
                && !command.starts_with("QUIT")
            {
                "503 5.5.1 no service\r\n".into()
            } else if command.starts_with("EHLO") {
                "250-faulty.test\r\n250-8BITMIME\r\n250-AUTH PLAIN LOGIN\r\n250 PIPELINING\r\n"
                    .into()
            } else if command.starts_with("AUTH") {
                if fault == Some(ServerFault::Auth535) {
                    "535 5.7.8 authentication credentials invalid\r\n".into()
                } else {
                    "235 2.7.0 authenticated\r\n".into()
                }
            } else if command.starts_with("MAIL") && fault == Some(ServerFault::MailFrom550) {
                "550 5.7.1 sender address refused\r\n".into()
            } else if command.starts_with("HELO")
                || command.starts_with("MAIL")
                || command.starts_with("NOOP")
            {
                "250 OK\r\n".into()
            } else if command.starts_with("RSET") {
                rcpt.clear();
                "250 OK\r\n".into()
            } else if command.starts_with("RCPT") {
                rcpt = line
                    .trim_end()
                    .split(['<', '>'])
                    .nth(1)
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let attempt = {
                    let mut state = self.state.lock().expect("state");
                    let count = state.attempts.entry(rcpt.clone()).or_default();
                    *count += 1;
                    (*count, state.faults.get(&rcpt).copied())
                };
                match attempt {
                    (n, Some(Fault::TempFail(times))) if n <= times => {
                        "451 4.3.0 try again later\r\n".into()
                    }
                    (_, Some(Fault::Reject)) => "550 5.1.1 no such user\r\n".into(),
                    _ => "250 OK\r\n".into(),
                }
            } else if command == "DATA" {
                let _ = write.write_all(b"354 go ahead\r\n").await;
                let (attempt, fault) = {
                    let state = self.state.lock().expect("state");
                    (
                        state.attempts.get(&rcpt).copied().unwrap_or(0),
                        state.faults.get(&rcpt).copied(),
                    )
                };
                let mut body_lines = 0;
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    body_lines += 1;
                    if let (Some(Fault::DropInData(times)), true) = (fault, body_lines == 5) {
                        if attempt <= times {
                            return;
                        }
                    }
                    if line == ".\r\n" {
                        break;
                    }
                }
                if let (Some(Fault::SlowOnce(delay)), 1) = (fault, attempt) {
                    tokio::time::sleep(delay).await;
                }
                self.state.lock().expect("state").data_received += 1;
                match self.server_fault() {
                    Some(ServerFault::SilentAfterData) => {
                        let mut sink = Vec::new();
                        let _ = tokio::io::AsyncReadExt::read_to_end(&mut lines, &mut sink).await;
                        return;
                    }
                    Some(ServerFault::DiesAfter(n)) if self.accepted().len() >= n => {
                        // Dead before answering: this message was never accepted.
                        self.alive.send_replace(false);
                        return;
                    }
                    _ => {}
                }
                self.state
                    .lock()
                    .expect("state")
                    .accepted
                    .push(rcpt.clone());
                "250 2.0.0 queued\r\n".into()
            } else if command.starts_with("QUIT") {
                let _ = write.write_all(b"221 bye\r\n").await;
                return;
            } else {
                "502 5.5.2 not implemented\r\n".into()
            };
            if write.write_all(reply.as_bytes()).await.is_err() {
                return;
            }
        }
    }
}
