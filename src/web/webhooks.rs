//! `POST /webhooks/{ses|postmark|mailgun}`: bounce and complaint events from mail providers,
//! behind `bounces.webhook_secret`. Amazon SES (through SNS) and Postmark authenticate with HTTP
//! Basic auth whose password is the secret (put it in the URL you give them:
//! `https://herald:SECRET@news.example.org/herald/webhooks/ses`); Mailgun signs each event with
//! its webhook signing key, which is then the secret.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use super::error::{problem, ApiError, WebError};
use super::WebState;
use crate::bounces::held;
use crate::bounces::ingest::ingest_event;
use crate::bounces::providers::{Event, Provider};
use crate::bounces::report::{Report, ReportKind};
use crate::fingerprint::fingerprint;

/// Larger bodies get 413 before they are read.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// A Mailgun signature older (or newer) than this is refused: a replayed event.
const MAILGUN_MAX_SKEW_SECS: i64 = 15 * 60;

/// Compared in time that does not depend on where they differ.
fn same(given: &[u8], expected: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(given, expected).is_ok()
}

/// HTTP Basic auth whose password is the secret (the user name is not checked).
fn basic_auth(headers: &HeaderMap, secret: &str) -> bool {
    let Some(encoded) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let password = decoded
        .iter()
        .position(|byte| *byte == b':')
        .map_or(&[][..], |colon| &decoded[colon + 1..]);
    same(password, secret.as_bytes())
}

/// Mailgun's signature: hex HMAC-SHA256 of timestamp and token under the signing key. The
/// token, when the signature holds and is fresh.
fn mailgun_signed<'b>(body: &'b Value, secret: &str, now: i64) -> Option<&'b str> {
    let field = |name: &str| {
        body.pointer(&format!("/signature/{name}"))
            .and_then(Value::as_str)
    };
    let (Some(timestamp), Some(token), Some(signature)) =
        (field("timestamp"), field("token"), field("signature"))
    else {
        return None;
    };
    let fresh = timestamp
        .parse::<i64>()
        .is_ok_and(|at| (now - at).abs() <= MAILGUN_MAX_SKEW_SECS);
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    let expected: String = aws_lc_rs::hmac::sign(&key, format!("{timestamp}{token}").as_bytes())
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let holds = fresh
        && same(
            signature.to_ascii_lowercase().as_bytes(),
            expected.as_bytes(),
        );
    holds.then_some(token)
}

pub async fn receive(
    State(state): State<WebState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some(secret) = &state.webhook_secret else {
        return Ok(problem(
            StatusCode::NOT_FOUND,
            "bounce webhooks are off: set bounces.webhook_secret or bounces.webhook_secret_file",
        ));
    };
    let Some(provider) = Provider::parse(&name) else {
        return Ok(problem(
            StatusCode::NOT_FOUND,
            "unknown provider: use /webhooks/ses, /webhooks/postmark or /webhooks/mailgun",
        ));
    };
    let parsed = serde_json::from_slice::<Value>(&body);
    let secret = secret.expose_secret();
    let mut mailgun_token = None;
    let authenticated = match (provider, &parsed) {
        (Provider::Mailgun, Ok(value)) => {
            mailgun_token = mailgun_signed(value, secret, state.app.clock.now().timestamp());
            mailgun_token.is_some()
        }
        (Provider::Mailgun, Err(_)) => false,
        (Provider::Ses | Provider::Postmark, _) => basic_auth(&headers, secret),
    };
    if !authenticated {
        let mut response = problem(StatusCode::UNAUTHORIZED, "not authenticated");
        if !matches!(provider, Provider::Mailgun) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"herald\""),
            );
        }
        return Ok(response);
    }
    if let (Some(token), Ok(value)) = (mailgun_token, &parsed) {
        match mailgun_token_fresh(&state, token, value).await {
            Ok(true) => {}
            Ok(false) => {
                return Ok(problem(
                    StatusCode::UNAUTHORIZED,
                    "this signature's token was already used for another event",
                ))
            }
            Err(error) => return Err(error.into()),
        }
    }
    let kept = match &parsed {
        Ok(value) => provider.kept_body(&body, value),
        Err(_) => body.to_vec(),
    };
    let event = parsed
        .map_err(|error| format!("not JSON: {error}"))
        .and_then(|value| provider.read(&value));
    let verp = state.verp.as_deref();
    let source = provider.source();
    let reports = match event {
        Ok(Event::Reports(reports)) => reports,
        Ok(Event::ConfirmSubscription(url)) => return Ok(confirm_subscription(&url).await),
        Err(reason) => {
            // Kept as evidence, with no effect, and the provider told.
            let unreadable = Report {
                diagnostic: Some(crate::domain::text::shorten(&reason, 500).into_owned()),
                ..Report::new(ReportKind::Unrecognised)
            };
            ingest_event(&state.app, verp, &unreadable, &kept, 0, source).await?;
            return Ok(problem(StatusCode::BAD_REQUEST, &reason));
        }
    };
    let limit = state.app.settings.bounces.webhook_max_readers;
    if reports.len() > usize::try_from(limit).unwrap_or(usize::MAX) {
        held::hold(&state.app, provider, &kept, reports.len()).await?;
        let body = json!({ "processed": 0, "held": reports.len() });
        return Ok((StatusCode::ACCEPTED, Json(body)).into_response());
    }
    let mut processed = 0;
    for (part, report) in reports.iter().enumerate() {
        ingest_event(&state.app, verp, report, &kept, part, source).await?;
        processed += 1;
    }
    Ok((StatusCode::OK, Json(json!({ "processed": processed }))).into_response())
}

/// Mailgun signs only the timestamp and a token, not the event: each token is taken once, tied
/// to the event it came with, so the same signature cannot carry another event.
async fn mailgun_token_fresh(state: &WebState, token: &str, body: &Value) -> anyhow::Result<bool> {
    let event = body
        .get("event-data")
        .map(Value::to_string)
        .unwrap_or_default();
    let digest = fingerprint(&[event.as_bytes()]);
    let now = state.app.clock.now();
    // A timestamp may be up to the skew on either side of now: a token stays taken that long.
    let window = chrono::Duration::seconds(2 * MAILGUN_MAX_SKEW_SECS);
    crate::store::bounces::take_webhook_token(
        &state.app.pool,
        "mailgun",
        token,
        &digest,
        now,
        now - window,
    )
    .await
}

/// SNS confirms a subscription when its SubscribeURL is fetched. Only an https address of
/// Amazon SNS is fetched: the body is authenticated, but a leaked secret must not make Herald
/// fetch arbitrary URLs.
async fn confirm_subscription(url: &str) -> Response {
    let Some(url) = url::Url::parse(url).ok().filter(is_sns) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "SubscribeURL is not an https address of Amazon SNS",
        );
    };
    crate::tls::install_provider();
    let fetched = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        // The address was checked, not wherever it would send us.
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(client) => client.get(url).send().await,
        Err(error) => return WebError::Internal(error.into()).json(),
    };
    match fetched {
        Ok(answer) if answer.status().is_success() => {
            tracing::info!("confirmed the Amazon SNS subscription for bounce notifications");
            (StatusCode::OK, Json(json!({ "confirmed": true }))).into_response()
        }
        Ok(answer) => problem(
            StatusCode::BAD_GATEWAY,
            &format!(
                "Amazon SNS answered {} to the confirmation",
                answer.status()
            ),
        ),
        Err(error) => problem(
            StatusCode::BAD_GATEWAY,
            &format!("could not reach Amazon SNS to confirm: {error}"),
        ),
    }
}

/// `https://sns.<region>.amazonaws.com[.cn]/…` exactly: a host such as `sns.s3.amazonaws.com`
/// (an S3 bucket named `sns`) is anyone's.
fn is_sns(url: &url::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let region = host
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"))
        .and_then(|rest| rest.strip_prefix("sns."));
    url.scheme() == "https" && url.port().is_none() && region.is_some_and(is_aws_region)
}

/// `eu-west-1`, `us-gov-west-1`, `cn-north-1`: lower-case words joined by `-`, ending in a number.
fn is_aws_region(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    match parts.split_last() {
        Some((number, words)) if words.len() >= 2 => {
            !number.is_empty()
                && number.bytes().all(|byte| byte.is_ascii_digit())
                && words.iter().all(|word| {
                    !word.is_empty() && word.bytes().all(|byte| byte.is_ascii_lowercase())
                })
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_sns_addresses_are_fetched() {
        let sns = |raw: &str| {
            url::Url::parse(raw)
                .map(|url| is_sns(&url))
                .unwrap_or(false)
        };
        assert!(sns(
            "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=x"
        ));
        assert!(!sns(
            "http://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription"
        ));
        assert!(!sns(
            "https://sns.eu-west-1.amazonaws.com.attacker.example/"
        ));
        assert!(!sns("https://127.0.0.1/"));
        assert!(sns("https://sns.us-gov-west-1.amazonaws.com/?x"));
        assert!(sns("https://sns.cn-north-1.amazonaws.com.cn/?x"));
        assert!(
            !sns("https://sns.s3.amazonaws.com/x"),
            "an S3 bucket named sns"
        );
        assert!(!sns("https://sns.x.y.amazonaws.com/"));
        assert!(!sns("https://sns.eu-west-1.amazonaws.com:8443/"));
    }
}
