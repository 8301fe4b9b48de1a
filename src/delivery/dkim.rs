//! DKIM signing (RFC 6376, relaxed/relaxed) of the finished message bytes, with AWS-LC
//! (aws-lc-rs): RSA-SHA256 and Ed25519-SHA256 (RFC 8463), alone or both at once. AWS-LC's RSA
//! uses the same vectorised code as OpenSSL, several times faster than ring's or the pure-Rust
//! `rsa` crate's, so signing keeps up with the relay; and signing the bytes that go on the wire
//! means every header listed in `h=` is exactly the one that was hashed.
//!
//! Keys as operators have them: RSA in PKCS#1 (`BEGIN RSA PRIVATE KEY`) or PKCS#8
//! (`BEGIN PRIVATE KEY`, what `openssl genpkey` and OpenSSL 3's `genrsa` write) PEM, Ed25519 in
//! PKCS#8 PEM (`openssl genpkey -algorithm ed25519`) or as the base64 of its 32-byte seed.

use std::path::Path;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair, RsaKeyPair, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivateKeyDer;

use crate::error::BadInput;
use crate::settings::DkimSettings;

/// Signed when present, in this order. RFC 8058 asks for both unsubscribe headers under the
/// signature; Reply-To and Auto-Submitted are signed so nobody can add or change them.
pub const SIGNED_HEADERS: [&str; 12] = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "Reply-To",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Auto-Submitted",
    "MIME-Version",
    "Content-Type",
];

/// A private key DKIM can sign with.
pub enum SigningKey {
    Rsa(RsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key itself.
        f.write_str(match self {
            Self::Rsa(_) => "SigningKey::Rsa(..)",
            Self::Ed25519(_) => "SigningKey::Ed25519(..)",
        })
    }
}

impl SigningKey {
    /// Reads a key file; the error names the file and what is wrong with it.
    pub fn load(path: &Path) -> Result<Self, BadInput> {
        let bad = |why: String| BadInput(format!("dkim key {}: {why}", path.display()));
        let raw = std::fs::read(path).map_err(|error| bad(format!("cannot read it: {error}")))?;
        Self::parse(&raw).map_err(bad)
    }

    pub fn parse(raw: &[u8]) -> Result<Self, String> {
        match PrivateKeyDer::from_pem_slice(raw) {
            Ok(PrivateKeyDer::Pkcs1(der)) => RsaKeyPair::from_der(der.secret_pkcs1_der())
                .map(Self::Rsa)
                .map_err(|error| format!("not a usable RSA key ({error})")),
            Ok(PrivateKeyDer::Pkcs8(der)) => {
                let der = der.secret_pkcs8_der();
                RsaKeyPair::from_pkcs8(der)
                    .map(Self::Rsa)
                    .or_else(|_| Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map(Self::Ed25519))
                    .map_err(|_| "a PKCS#8 key that is neither RSA nor Ed25519: DKIM signs with RSA or Ed25519".to_string())
            }
            Ok(_) => Err("an EC key: DKIM signs with RSA or Ed25519".into()),
            Err(_) => {
                // The older form: an Ed25519 seed as base64.
                let text = std::str::from_utf8(raw).map_err(|_| "not a PEM key".to_string())?;
                let seed = BASE64
                    .decode(text.trim())
                    .map_err(|_| "not a PEM key, nor a base64 Ed25519 seed".to_string())?;
                Ed25519KeyPair::from_seed_unchecked(&seed)
                    .map(Self::Ed25519)
                    .map_err(|_| "a base64 value that is not a 32-byte Ed25519 seed".to_string())
            }
        }
        .and_then(|key| match &key {
            Self::Rsa(pair) if pair.public_modulus_len() < 128 => {
                Err("an RSA key under 1024 bits, which receivers ignore".into())
            }
            _ => Ok(key),
        })
    }

    fn algorithm(&self) -> &'static str {
        match self {
            Self::Rsa(_) => "rsa-sha256",
            Self::Ed25519(_) => "ed25519-sha256",
        }
    }

    /// The `k=` tag of the DNS record.
    pub fn dns_type(&self) -> &'static str {
        match self {
            Self::Rsa(_) => "rsa",
            Self::Ed25519(_) => "ed25519",
        }
    }

    /// The `p=` value of the DNS record: for RSA the SubjectPublicKeyInfo DER, for Ed25519 the
    /// raw 32-byte key (RFC 8463), base64.
    pub fn public_key_base64(&self) -> String {
        match self {
            Self::Rsa(pair) => BASE64.encode(rsa_spki(pair.public_key().as_ref())),
            Self::Ed25519(pair) => BASE64.encode(pair.public_key().as_ref()),
        }
    }

    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, String> {
        match self {
            Self::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    data,
                    &mut signature,
                )
                .map_err(|_| "RSA signing failed".to_string())?;
                Ok(signature)
            }
            // RFC 8463: Ed25519 signs the SHA-256 hash of the data.
            Self::Ed25519(pair) => Ok(pair
                .sign(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data).as_ref())
                .as_ref()
                .to_vec()),
        }
    }
}

/// What `herald dkim keygen` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// RSA-2048: what every receiver checks.
    Rsa,
    /// Ed25519 (RFC 8463): small and fast, checked by fewer receivers; best beside RSA.
    Ed25519,
}

/// A new private key as PKCS#8 PEM (`BEGIN PRIVATE KEY`, as OpenSSL writes it).
pub fn generate_key(algorithm: KeyAlgorithm) -> Result<String, String> {
    use aws_lc_rs::encoding::AsDer;
    let der = match algorithm {
        KeyAlgorithm::Rsa => RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .and_then(|pair| pair.as_der())
            .map(|der| der.as_ref().to_vec()),
        KeyAlgorithm::Ed25519 => Ed25519KeyPair::generate_pkcs8v1(&SystemRandom::new())
            .map(|document| document.as_ref().to_vec()),
    }
    .map_err(|_| "generating the key failed".to_string())?;
    let body = BASE64.encode(der);
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    Ok(pem)
}

/// The DNS TXT record that publishes `key` for `selector` and `domain`, in zone-file form, its
/// text split into the 255-byte strings DNS allows.
pub fn dns_record(selector: &str, domain: &str, key: &SigningKey) -> String {
    let text = format!(
        "v=DKIM1; k={}; p={}",
        key.dns_type(),
        key.public_key_base64()
    );
    let strings: Vec<String> = text
        .as_bytes()
        .chunks(255)
        .map(|chunk| format!("\"{}\"", String::from_utf8_lossy(chunk)))
        .collect();
    format!(
        "{selector}._domainkey.{domain}. IN TXT {}",
        strings.join(" ")
    )
}

/// The DER SubjectPublicKeyInfo around an RSA public key (`RSAPublicKey`, PKCS#1), as DKIM's
/// `p=` wants it.
fn rsa_spki(pkcs1: &[u8]) -> Vec<u8> {
    fn der_len(len: usize, out: &mut Vec<u8>) {
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes: Vec<u8> = len
                .to_be_bytes()
                .into_iter()
                .skip_while(|b| *b == 0)
                .collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
    }
    // AlgorithmIdentifier { rsaEncryption, NULL }
    const ALGORITHM: [u8; 15] = [
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut bit_string = vec![0x03];
    der_len(pkcs1.len() + 1, &mut bit_string);
    bit_string.push(0);
    bit_string.extend_from_slice(pkcs1);
    let mut spki = vec![0x30];
    der_len(ALGORITHM.len() + bit_string.len(), &mut spki);
    spki.extend_from_slice(&ALGORITHM);
    spki.extend(bit_string);
    spki
}

/// One signature to add: a key with its selector.
#[derive(Debug)]
struct Signature {
    selector: String,
    key: SigningKey,
}

/// Signs messages for one domain with one key, or two (RSA and Ed25519, RFC 8463).
#[derive(Debug)]
pub struct DkimSigner {
    domain: String,
    signatures: Vec<Signature>,
}

impl DkimSigner {
    /// Loads and checks every key the settings name; called at start, so a bad key stops the
    /// program before any edition is built.
    pub fn from_settings(settings: &DkimSettings) -> Result<Self, BadInput> {
        let mut signatures = vec![Signature {
            selector: settings.selector.clone(),
            key: SigningKey::load(&settings.private_key_file)?,
        }];
        if let Some(second) = &settings.second {
            signatures.push(Signature {
                selector: second.selector.clone(),
                key: SigningKey::load(&second.private_key_file)?,
            });
        }
        Ok(Self {
            domain: settings.domain.clone(),
            signatures,
        })
    }

    pub fn new(domain: &str, selector: &str, key: SigningKey) -> Self {
        Self {
            domain: domain.to_string(),
            signatures: vec![Signature {
                selector: selector.to_string(),
                key,
            }],
        }
    }

    /// What the check prints: `s1._domainkey.example.org (rsa-sha256)`, one per key.
    pub fn describe(&self) -> String {
        self.signatures
            .iter()
            .map(|s| {
                format!(
                    "{}._domainkey.{} ({})",
                    s.selector,
                    self.domain,
                    s.key.algorithm()
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The message with its DKIM-Signature header(s) in front. `timestamp` is the `t=` tag.
    pub fn sign(&self, message: &[u8], timestamp: i64) -> Result<Vec<u8>, String> {
        let (headers, body) = split(message);
        let body_hash = BASE64.encode(relaxed_body_hash(body));
        let fields = header_fields(headers);
        let mut signed_names = Vec::new();
        let mut canonical = Vec::with_capacity(headers.len());
        for name in SIGNED_HEADERS {
            // The last instance of a field is the one a verifier takes first.
            if let Some(field) = fields
                .iter()
                .rev()
                .find(|f| f.name.eq_ignore_ascii_case(name))
            {
                relaxed_header(field.name, field.value, &mut canonical);
                signed_names.push(name.to_ascii_lowercase());
            }
        }
        let mut out = Vec::with_capacity(message.len() + 512 * self.signatures.len());
        for signature in &self.signatures {
            let value = format!(
                "v=1; a={}; c=relaxed/relaxed; d={}; s={}; t={timestamp};\r\n\th={};\r\n\tbh={body_hash};\r\n\tb=",
                signature.key.algorithm(),
                self.domain,
                signature.selector,
                signed_names.join(":"),
            );
            let mut data = canonical.clone();
            relaxed_header("DKIM-Signature", &value, &mut data);
            // The signature's own header is hashed without its final CRLF (RFC 6376 3.7).
            data.truncate(data.len() - 2);
            let b = BASE64.encode(signature.key.sign(&data)?);
            out.extend_from_slice(b"DKIM-Signature: ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(message);
        Ok(out)
    }
}

/// Header block (with its last CRLF) and body.
fn split(message: &[u8]) -> (&[u8], &[u8]) {
    match message.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(at) => (&message[..at + 2], &message[at + 4..]),
        None => (message, &[]),
    }
}

struct Field<'a> {
    name: &'a str,
    /// Everything after the colon, folding included.
    value: &'a str,
}

fn header_fields(headers: &[u8]) -> Vec<Field<'_>> {
    // The header block of our messages is ASCII (lettre encodes non-ASCII per RFC 2047).
    let Ok(text) = std::str::from_utf8(headers) else {
        return Vec::new();
    };
    let mut fields: Vec<Field<'_>> = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\n' {
            let next = bytes.get(i + 1).copied();
            // A line starting with WSP continues the field (folding).
            if !matches!(next, Some(b' ') | Some(b'\t')) {
                let line = &text[start..=i];
                if let Some((name, value)) = line.split_once(':') {
                    fields.push(Field {
                        name: name.trim_end(),
                        value,
                    });
                }
                start = i + 1;
            }
        }
        i += 1;
    }
    fields
}

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `name:value\r\n` with the name lower-cased, the value unfolded, runs of whitespace made one
/// space, and whitespace at either end removed (RFC 6376 3.4.2).
fn relaxed_header(name: &str, value: &str, out: &mut Vec<u8>) {
    out.extend(name.bytes().map(|b| b.to_ascii_lowercase()));
    out.push(b':');
    let mut pending_space = false;
    let mut started = false;
    for b in value.bytes() {
        match b {
            b'\r' | b'\n' => {}
            b if is_wsp(b) => pending_space = started,
            b => {
                if pending_space {
                    out.push(b' ');
                    pending_space = false;
                }
                out.push(b);
                started = true;
            }
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// The SHA-256 of the relaxed body: runs of whitespace in a line made one space, whitespace at
/// line ends removed, empty lines at the end removed (RFC 6376 3.4.4). Lines already in that
/// form — nearly all of a quoted-printable body — are hashed straight from the message in long
/// runs; only the others are rewritten.
fn relaxed_body_hash(body: &[u8]) -> aws_lc_rs::digest::Digest {
    let mut hash = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    // Everything after the last line with a visible character is dropped.
    let Some(last_visible) = body
        .iter()
        .rposition(|b| !is_wsp(*b) && *b != b'\r' && *b != b'\n')
    else {
        return hash.finish();
    };
    let end = body[last_visible..]
        .iter()
        .position(|b| *b == b'\n')
        .map_or(body.len(), |at| last_visible + at + 1);
    let body = &body[..end];
    let mut run_start = 0;
    let mut line_start = 0;
    let mut rewritten = Vec::new();
    while line_start < body.len() {
        let line_end = body[line_start..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(body.len(), |at| line_start + at + 1);
        let line = &body[line_start..line_end];
        if !is_canonical_line(line) {
            hash.update(&body[run_start..line_start]);
            rewritten.clear();
            canonical_line(line, &mut rewritten);
            hash.update(&rewritten);
            run_start = line_end;
        }
        line_start = line_end;
    }
    hash.update(&body[run_start..]);
    hash.finish()
}

/// A line (with its line break) that relaxed canonicalisation leaves as it is: it ends in CRLF,
/// holds no tab, no run of spaces, and no space before the CRLF.
fn is_canonical_line(line: &[u8]) -> bool {
    let Some(text) = line.strip_suffix(b"\r\n") else {
        return false;
    };
    let mut previous_space = false;
    for &b in text {
        match b {
            b'\t' | b'\r' | b'\n' => return false,
            b' ' if previous_space => return false,
            b' ' => previous_space = true,
            _ => previous_space = false,
        }
    }
    !previous_space
}

/// The relaxed form of one line, CRLF included.
fn canonical_line(line: &[u8], out: &mut Vec<u8>) {
    let text = line.strip_suffix(b"\n").unwrap_or(line);
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    let mut pending_space = false;
    for &b in text {
        if is_wsp(b) {
            pending_space = true;
        } else {
            if pending_space {
                out.push(b' ');
                pending_space = false;
            }
            out.push(b);
        }
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha256(bytes: &[u8]) -> Vec<u8> {
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
            .as_ref()
            .to_vec()
    }

    #[test]
    fn relaxed_body_collapses_whitespace_and_drops_trailing_empty_lines() {
        for (body, canonical) in [
            (&b" C \r\nD \t E\r\n\r\n\r\n"[..], &b" C\r\nD E\r\n"[..]),
            (b"a\r\n\r\nb\r\n", b"a\r\n\r\nb\r\n"),
            (b"a\r\n  \r\nb", b"a\r\n\r\nb\r\n"),
            (
                b"quoted=\r\nprintable =20\r\n \t \r\n\r\n",
                b"quoted=\r\nprintable =20\r\n",
            ),
            (b"", b""),
            (b"\r\n \r\n", b""),
        ] {
            assert_eq!(
                relaxed_body_hash(body).as_ref(),
                sha256(canonical),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn relaxed_headers_are_unfolded_and_lower_cased() {
        let mut out = Vec::new();
        relaxed_header("Subject", " Hello\r\n\t  World  \r\n", &mut out);
        assert_eq!(out, b"subject:Hello World\r\n".to_vec());
    }
}
