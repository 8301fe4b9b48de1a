//! Bounce and complaint events as mail providers post them to webhooks: Amazon SES (through
//! SNS), Postmark and Mailgun, each read into the same [`Report`]s the mail path produces. The
//! shapes follow each provider's documentation; unknown event types are kept with no effect.

use serde_json::Value;

use crate::bounces::report::{Report, ReportKind};

/// A mail provider that posts events to `/webhooks/{name}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Ses,
    Postmark,
    Mailgun,
}

impl Provider {
    /// From the webhook's path, or a kept report's `source`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "ses" => Some(Self::Ses),
            "postmark" => Some(Self::Postmark),
            "mailgun" => Some(Self::Mailgun),
            _ => None,
        }
    }

    /// The `source` its reports are kept under.
    pub fn source(self) -> &'static str {
        match self {
            Self::Ses => "ses",
            Self::Postmark => "postmark",
            Self::Mailgun => "mailgun",
        }
    }

    pub fn read(self, body: &Value) -> Result<Event, String> {
        match self {
            Self::Ses => ses(body),
            Self::Postmark => postmark(body),
            Self::Mailgun => mailgun(body),
        }
    }

    /// The body as it is kept: without credentials (Mailgun's `signature` object, whose token
    /// and HMAC would let anyone who reads the database or a backup replay it).
    pub fn kept_body(self, raw: &[u8], parsed: &Value) -> Vec<u8> {
        match (self, parsed) {
            (Self::Mailgun, Value::Object(fields)) => {
                let mut fields = fields.clone();
                fields.remove("signature");
                serde_json::to_vec(&fields).unwrap_or_default()
            }
            _ => raw.to_vec(),
        }
    }
}

/// What one webhook body holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Reports to apply, one per recipient.
    Reports(Vec<Report>),
    /// SNS asks to confirm the subscription by fetching this URL.
    ConfirmSubscription(String),
}

fn text(value: &Value, pointer: &str) -> Option<String> {
    match value.pointer(pointer)? {
        Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_string()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// The items of the array at `pointer`, or none.
fn entries<'a>(value: &'a Value, pointer: &str) -> &'a [Value] {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn one_line(text: Option<String>) -> Option<String> {
    text.map(|text| {
        let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
        crate::domain::text::shorten(&line, 500).into_owned()
    })
}

/// Amazon SES notifications, wrapped in SNS (`Type: Notification`, the SES event as a JSON
/// string in `Message`) or delivered raw.
pub fn ses(body: &Value) -> Result<Event, String> {
    match body.get("Type").and_then(Value::as_str) {
        Some("SubscriptionConfirmation") => {
            return text(body, "/SubscribeURL")
                .map(Event::ConfirmSubscription)
                .ok_or_else(|| "a subscription confirmation without SubscribeURL".to_string())
        }
        Some("UnsubscribeConfirmation") => return Ok(Event::Reports(Vec::new())),
        _ => {}
    }
    let message = match body.get("Message").and_then(Value::as_str) {
        Some(inner) => serde_json::from_str::<Value>(inner)
            .map_err(|error| format!("the SNS Message is not JSON: {error}"))?,
        None => body.clone(),
    };
    let kind_of_event = text(&message, "/notificationType")
        .or_else(|| text(&message, "/eventType"))
        .ok_or_else(|| "neither notificationType nor eventType".to_string())?;
    let source = text(&message, "/mail/source");
    let message_id = text(&message, "/mail/messageId");
    let base = |kind| Report {
        addressed_to: source.iter().cloned().collect(),
        message_id: message_id.clone(),
        ..Report::new(kind)
    };
    let mut reports = Vec::new();
    match kind_of_event.as_str() {
        "Bounce" => {
            let kind = match text(&message, "/bounce/bounceType").as_deref() {
                Some("Permanent") => ReportKind::Hard,
                _ => ReportKind::Soft,
            };
            for recipient in entries(&message, "/bounce/bouncedRecipients") {
                reports.push(Report {
                    recipient: text(recipient, "/emailAddress"),
                    status: text(recipient, "/status"),
                    diagnostic: one_line(text(recipient, "/diagnosticCode")),
                    ..base(kind)
                });
            }
        }
        "Complaint" => {
            let feedback_type = text(&message, "/complaint/complaintFeedbackType");
            let kind = match feedback_type.as_deref() {
                Some("not-spam") => ReportKind::Unrecognised,
                _ => ReportKind::Complaint,
            };
            for recipient in entries(&message, "/complaint/complainedRecipients") {
                reports.push(Report {
                    recipient: text(recipient, "/emailAddress"),
                    feedback_type: feedback_type.clone().or(Some("abuse".into())),
                    ..base(kind)
                });
            }
        }
        "DeliveryDelay" => reports.push(base(ReportKind::Delayed)),
        _ => {}
    }
    Ok(Event::Reports(reports))
}

/// Postmark's bounce and spam complaint webhooks.
pub fn postmark(body: &Value) -> Result<Event, String> {
    let record_type = text(body, "/RecordType").ok_or_else(|| "no RecordType".to_string())?;
    let bounce_type = text(body, "/Type").unwrap_or_default();
    let kind = match (record_type.as_str(), bounce_type.as_str()) {
        ("SpamComplaint", _) | (_, "SpamComplaint") => ReportKind::Complaint,
        ("Bounce", "HardBounce" | "BadEmailAddress") => ReportKind::Hard,
        ("Bounce", "SoftBounce" | "Transient" | "DnsError") => ReportKind::Soft,
        ("Bounce", "AutoResponder" | "ChallengeVerification") => ReportKind::AutoReply,
        ("Bounce", _) => ReportKind::Unrecognised,
        _ => return Ok(Event::Reports(Vec::new())),
    };
    let details = one_line(text(body, "/Details").or_else(|| text(body, "/Description")));
    Ok(Event::Reports(vec![Report {
        recipient: text(body, "/Email"),
        status: details
            .as_deref()
            .and_then(crate::bounces::report::status_code),
        diagnostic: details,
        feedback_type: (kind == ReportKind::Complaint).then(|| "abuse".to_string()),
        message_id: text(body, "/MessageID"),
        ..Report::new(kind)
    }]))
}

/// Mailgun's webhooks (`event-data` with `failed` or `complained`).
pub fn mailgun(body: &Value) -> Result<Event, String> {
    let data = body
        .get("event-data")
        .ok_or_else(|| "no event-data".to_string())?;
    let event = text(data, "/event").ok_or_else(|| "no event".to_string())?;
    let kind = match (event.as_str(), text(data, "/severity").as_deref()) {
        ("complained", _) => ReportKind::Complaint,
        ("failed", Some("permanent")) => ReportKind::Hard,
        ("failed", _) => ReportKind::Soft,
        _ => return Ok(Event::Reports(Vec::new())),
    };
    let status = text(data, "/delivery-status/enhanced-code").or_else(|| {
        text(data, "/delivery-status/message")
            .and_then(|message| crate::bounces::report::status_code(&message))
    });
    Ok(Event::Reports(vec![Report {
        kind,
        recipient: text(data, "/recipient"),
        status,
        diagnostic: one_line(
            text(data, "/delivery-status/message")
                .or_else(|| text(data, "/delivery-status/description"))
                .or_else(|| text(data, "/reason")),
        ),
        feedback_type: (kind == ReportKind::Complaint).then(|| "abuse".to_string()),
        message_id: text(data, "/message/headers/message-id"),
        addressed_to: text(data, "/envelope/sender").into_iter().collect(),
        quoted_copy: None,
    }]))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ses_bounces_come_per_recipient_with_their_envelope_sender() {
        let message = json!({
            "notificationType": "Bounce",
            "bounce": {"bounceType": "Permanent", "bouncedRecipients": [
                {"emailAddress": "a@example.net", "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 unknown"},
                {"emailAddress": "b@example.net", "status": "5.1.1"}]},
            "mail": {"source": "bounces+d1.2-x@bounce.example.org", "messageId": "m1"}
        });
        let body = json!({"Type": "Notification", "Message": message.to_string()});
        let Ok(Event::Reports(reports)) = ses(&body) else {
            panic!("reports");
        };
        assert_eq!(reports.len(), 2);
        assert_eq!(reports[0].kind, ReportKind::Hard);
        assert_eq!(reports[1].recipient.as_deref(), Some("b@example.net"));
        assert_eq!(
            reports[0].addressed_to,
            vec!["bounces+d1.2-x@bounce.example.org"]
        );
    }

    #[test]
    fn sns_asks_for_a_subscription_confirmation() {
        let body = json!({"Type": "SubscriptionConfirmation",
                          "SubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription"});
        assert!(matches!(ses(&body), Ok(Event::ConfirmSubscription(_))));
    }
}
