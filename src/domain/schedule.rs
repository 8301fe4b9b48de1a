use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;

use crate::error::BadInput;

/// A cron expression: the standard five fields (minute hour day month weekday), or six with
/// seconds first.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct CronExpr {
    text: String,
    parsed: Cron,
}

impl CronExpr {
    pub fn parse(raw: &str) -> Result<Self, BadInput> {
        let text = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        let invalid =
            |reason: String| BadInput(format!("invalid cron expression {raw:?}: {reason}"));
        let fields = text.split(' ').filter(|f| !f.is_empty()).count();
        if !(5..=6).contains(&fields) {
            return Err(invalid(format!(
                "expected 5 fields (minute hour day month weekday) or 6 with seconds first, \
                 found {fields}"
            )));
        }
        let parser = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .build();
        let parsed = parser.parse(&text).map_err(|e| invalid(e.to_string()))?;
        // A day that no month has (`0 7 30 2 *`) parses but would never send anything.
        let epoch = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        if parsed.find_next_occurrence(&epoch, false).is_err() {
            return Err(invalid("it never fires (no month has that day)".into()));
        }
        Ok(Self { text, parsed })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl PartialEq for CronExpr {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// An IANA timezone name ("Europe/Berlin"); the edition date is the list's local date there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct Timezone(Tz);

impl Timezone {
    pub fn parse(raw: &str) -> Result<Self, BadInput> {
        Tz::from_str(raw.trim()).map(Self).map_err(|_| {
            BadInput(format!(
                "unknown timezone {raw:?}: use an IANA name such as \"Europe/Berlin\" or \"UTC\""
            ))
        })
    }

    pub fn tz(self) -> Tz {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl fmt::Display for Timezone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// When a list's edition goes out: a cron expression read as wall-clock time in a timezone.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub cron: CronExpr,
    pub timezone: Timezone,
}

impl Schedule {
    /// The first send time strictly after `after`, computed on the local wall clock so that a
    /// daylight-saving change does not shift it.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = after.with_timezone(&self.timezone.tz());
        self.cron
            .parsed
            .find_next_occurrence(&local, false)
            .ok()
            .map(|next| next.with_timezone(&Utc))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_schedule_that_never_fires_is_refused() {
        for never in ["0 7 30 2 *", "0 7 31 4 *"] {
            let error = CronExpr::parse(never).expect_err(never).to_string();
            assert!(error.contains("never fires"), "{error}");
        }
        assert!(CronExpr::parse("0 7 29 2 *").is_ok(), "leap days come");
    }

    #[test]
    fn five_and_six_field_expressions_parse() {
        assert_eq!(
            CronExpr::parse(" 0  7 * * * ").expect("valid").as_str(),
            "0 7 * * *"
        );
        assert!(CronExpr::parse("30 0 7 * * mon-fri").is_ok());
    }

    #[test]
    fn bad_expressions_name_the_value() {
        for bad in [
            "",
            "0 7 * *",
            "0 0 7 * * * 2030",
            "61 7 * * *",
            "0 25 * * *",
            "every day",
        ] {
            let error = CronExpr::parse(bad).expect_err(bad).to_string();
            assert!(error.contains(&format!("{bad:?}")), "{error}");
        }
    }

    #[test]
    fn timezones_are_iana_names() {
        assert_eq!(
            Timezone::parse("Europe/Berlin").expect("valid").name(),
            "Europe/Berlin"
        );
        let error = Timezone::parse("Mars/Olympus")
            .expect_err("unknown")
            .to_string();
        assert!(error.contains("Mars/Olympus"), "{error}");
    }

    #[test]
    fn next_send_follows_local_wall_clock_across_dst() {
        let schedule = Schedule {
            cron: CronExpr::parse("0 7 * * *").expect("valid"),
            timezone: Timezone::parse("Europe/Berlin").expect("valid"),
        };
        // Berlin moves to summer time on 2026-03-29: 07:00 local is 06:00 UTC before and 05:00 after.
        let before = Utc
            .with_ymd_and_hms(2026, 3, 28, 0, 0, 0)
            .single()
            .expect("valid time");
        assert_eq!(
            schedule.next_after(before),
            Some(
                Utc.with_ymd_and_hms(2026, 3, 28, 6, 0, 0)
                    .single()
                    .expect("valid time")
            )
        );
        let after = Utc
            .with_ymd_and_hms(2026, 3, 29, 0, 0, 0)
            .single()
            .expect("valid time");
        assert_eq!(
            schedule.next_after(after),
            Some(
                Utc.with_ymd_and_hms(2026, 3, 29, 5, 0, 0)
                    .single()
                    .expect("valid time")
            )
        );
    }
}
