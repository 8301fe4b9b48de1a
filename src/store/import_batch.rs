//! What the SQLite and the PostgreSQL import share: the row, the duplicate it may be, and the
//! parameters and SQL that move one staged batch into `subscribers` and `subscriptions`. Both
//! backends' imports depend on this file, and it on neither.

use crate::domain::{EmailAddress, SubscriberName, SubscriptionStatus};

pub struct ImportRow {
    pub line: u64,
    pub email: EmailAddress,
    pub name: Option<SubscriberName>,
    /// The file says this person left (an export's `unsubscribed` or `bounced`): a new
    /// subscription keeps that status, and no import makes it active.
    pub left: Option<SubscriptionStatus>,
}

/// A row that repeats an address seen earlier in the same file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    pub line: u64,
    pub email: EmailAddress,
    pub first_line: u64,
}

pub(crate) fn duplicate(row: &ImportRow, first_line: i64) -> Duplicate {
    Duplicate {
        line: row.line,
        email: row.email.clone(),
        first_line: u64::try_from(first_line).unwrap_or_default(),
    }
}

/// The parameters every batch statement binds, in this order: `$1` the time, `$2` the batch,
/// `$3` the list, `$4` a new subscription's status, `$5` its confirmation time.
pub(crate) struct BatchParams {
    pub now: i64,
    pub batch: i64,
    pub list_id: i64,
    pub status: &'static str,
    pub confirmed_at: Option<i64>,
}

impl BatchParams {
    pub(crate) fn new(now: i64, batch: i64, list_id: i64, confirmed: bool) -> Self {
        let (status, confirmed_at) = if confirmed {
            (SubscriptionStatus::Active.as_str(), Some(now))
        } else {
            (SubscriptionStatus::Pending.as_str(), None)
        };
        Self {
            now,
            batch,
            list_id,
            status,
            confirmed_at,
        }
    }
}

/// Binds a batch statement's [`BatchParams`] to `$query`, in their order: one macro for the
/// Any and the PostgreSQL driver's queries, plain and scalar.
macro_rules! bind_batch {
    ($query:expr, $params:expr) => {{
        let params: &$crate::store::import_batch::BatchParams = &$params;
        $query
            .bind(params.now)
            .bind(params.batch)
            .bind(params.list_id)
            .bind(params.status)
            .bind(params.confirmed_at)
    }};
}
pub(crate) use bind_batch;

/// The SQL that moves one staged batch of `import_rows i` into `subscribers` and
/// `subscriptions`, whichever database: `staged` picks the batch's rows (binding the batch as
/// `$2`), `secret` is a fresh unsubscribe secret per row. Parameters as in [`BatchParams`].
pub(crate) struct BatchSql {
    staged: String,
    secret: String,
}

impl BatchSql {
    pub(crate) fn new(staged: &str, secret: &str) -> Self {
        Self {
            staged: staged.to_owned(),
            secret: secret.to_owned(),
        }
    }

    /// Adds the batch's new addresses; an existing subscriber keeps their name unless they had
    /// none.
    pub(crate) fn subscribers(&self) -> String {
        format!(
            "INSERT INTO subscribers (email, name, created_at)
             SELECT email, name, $1 FROM import_rows i WHERE {} ORDER BY email
             ON CONFLICT (email) DO UPDATE SET name = excluded.name
             WHERE subscribers.name IS NULL AND excluded.name IS NOT NULL",
            self.staged
        )
    }

    /// Subscribes every staged row, found by address, to the list. A row may already have a
    /// subscription there: an explicit confirmed import confirms a pending one; it never
    /// resubscribes people who left or bounced, and a plain import changes no existing
    /// subscription. A row the file marks as left (an export moved to another database) stays
    /// left.
    pub(crate) fn subscriptions(&self) -> String {
        self.insert_subscriptions(
            "import_rows i JOIN subscribers p ON p.email = i.email",
            "p.id",
            "",
            true,
        )
    }

    /// Subscribes the staged rows found by `source` (which names the staged row `i`) that meet
    /// `condition`, the subscriber being `subscriber_id`: for readers known to have no
    /// subscription to the list yet, so a plain INSERT, without the upsert.
    pub(crate) fn new_subscriptions(
        &self,
        source: &str,
        subscriber_id: &str,
        condition: &str,
    ) -> String {
        self.insert_subscriptions(source, subscriber_id, condition, false)
    }

    fn insert_subscriptions(
        &self,
        source: &str,
        subscriber_id: &str,
        condition: &str,
        existing: bool,
    ) -> String {
        let upsert = if existing {
            "ON CONFLICT (list_id, subscriber_id) DO UPDATE SET
                 status = 'active', confirmed_at = excluded.confirmed_at,
                 updated_at = excluded.updated_at
             WHERE subscriptions.status = 'pending' AND excluded.status = 'active'"
        } else {
            ""
        };
        format!(
            "INSERT INTO subscriptions
                 (list_id, subscriber_id, status, consent_source, consent_at, confirmed_at, updated_at,
                  unsubscribe_secret, unsubscribed_at)
             SELECT $3, {subscriber_id}, COALESCE(i.left_status, $4), 'import', $1,
                    CASE WHEN i.left_status IS NULL THEN $5 END, $1, {secret},
                    CASE WHEN i.left_status = 'unsubscribed' THEN $1 END
             FROM {source}
             WHERE {staged} {condition}
             {upsert}",
            secret = self.secret,
            staged = self.staged,
        )
    }
}
