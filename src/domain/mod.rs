//! Types that parse input at the edge: past here, values are known to be valid. No I/O.

pub mod click_sketch;
pub mod desk_note;
mod email_address;
mod language;
mod link_place;
mod list;
mod schedule;
mod sender;
mod states;
mod story;
mod subscription;
mod subscription_token;
pub mod text;

pub use email_address::EmailAddress;
pub use language::Language;
pub use link_place::LinkPlace;
pub use list::{ListSlug, ListTitle, MaxStories};
pub use schedule::{CronExpr, Schedule, Timezone};
pub use sender::Sender;
pub use states::{DeliveryState, EditionState, ReportKind};
pub use story::{
    optional_line, optional_summary, ImageSize, NewImage, Score, Section, StoryTitle, StoryUrl,
    Views,
};
pub use subscription::{ConsentSource, SubscriberName, SubscriptionStatus};
pub use subscription_token::SubscriptionToken;

/// `TryFrom<String>` through each type's own `parse`, so that serde (`try_from = "String"`) and
/// sqlx (`#[sqlx(try_from = "String")]`) read them the way the command line does.
macro_rules! parsed_from_string {
    ($($parsed:ty),+ $(,)?) => {
        $(impl TryFrom<String> for $parsed {
            type Error = crate::error::BadInput;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        })+
    };
}

parsed_from_string!(
    CronExpr,
    EmailAddress,
    Language,
    ListSlug,
    ListTitle,
    Section,
    Sender,
    StoryTitle,
    StoryUrl,
    SubscriptionStatus,
    Timezone,
);
