//! How Herald knows the same bytes when it sees them again: a report an MTA delivers twice, a
//! webhook event retried, a feed body the parser already failed on.

/// SHA-256 of `parts` in order, as hex.
pub fn fingerprint(parts: &[&[u8]]) -> String {
    let mut digest = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for part in parts {
        digest.update(part);
    }
    digest
        .finish()
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
