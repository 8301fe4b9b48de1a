//! The words and formats a reader sees, per list language: Fluent catalogues (shipped under
//! `templates/locales/`, extended by a site's `locale.dir`), day and month names and number
//! separators from glibc's locale data (`pure-rust-locales`, through chrono), and the text
//! direction.

pub mod catalogue;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use fluent_bundle::{FluentArgs, FluentValue};

use crate::domain::Language;
use catalogue::Catalogue;

/// A value for a message's `{ $name }`.
pub type Arg<'a> = FluentValue<'a>;

/// Every catalogue, loaded once (with the settings) and shared. The default holds none: the
/// settings load the real ones when they are checked.
#[derive(Debug, Clone, Default)]
pub struct Catalogues {
    by_tag: Arc<BTreeMap<String, Arc<Catalogue>>>,
}

impl Catalogues {
    /// The shipped catalogues plus a site's directory of `.ftl` files.
    pub fn load(dir: Option<&Path>) -> Result<Self, String> {
        Ok(Self {
            by_tag: Arc::new(catalogue::load(dir)?),
        })
    }

    /// The languages there are catalogues for ("ar", "de", ...).
    pub fn languages(&self) -> Vec<String> {
        self.by_tag
            .values()
            .map(|catalogue| catalogue.language.to_string())
            .collect()
    }

    fn catalogue(&self, language: &Language) -> Option<&Arc<Catalogue>> {
        self.by_tag
            .get(&language.to_string().to_ascii_lowercase())
            .or_else(|| self.by_tag.get(language.primary()))
    }

    /// Whether editions can be written in `language` (its own catalogue or its primary
    /// language's: "ar-JO" is written from "ar").
    pub fn supports(&self, language: &Language) -> bool {
        self.catalogue(language).is_some()
    }

    /// How to write for readers of `language`; English words where there is no catalogue for it.
    pub fn locale(&self, language: &Language) -> Locale {
        let english = self
            .by_tag
            .get("en")
            .cloned()
            .unwrap_or_else(|| unreachable!("the English catalogue is built in"));
        let catalogue = self
            .catalogue(language)
            .cloned()
            .unwrap_or_else(|| Arc::clone(&english));
        // The tag's region picks regional names (ar-EG: يناير, ar-JO: كانون الثاني); else the
        // catalogue's own `date-locale`.
        let regional = language.region().and_then(|region| {
            chrono::Locale::try_from(format!("{}_{region}", language.primary()).as_str()).ok()
        });
        let dates = regional
            .or_else(|| {
                catalogue
                    .format("date-locale", None)
                    .and_then(|name| chrono::Locale::try_from(name.as_str()).ok())
            })
            .unwrap_or(chrono::Locale::POSIX);
        Locale {
            language: language.clone(),
            catalogue,
            english,
            dates,
        }
    }
}

/// The words, dates and direction of one language.
#[derive(Debug, Clone)]
pub struct Locale {
    language: Language,
    catalogue: Arc<Catalogue>,
    english: Arc<Catalogue>,
    dates: chrono::Locale,
}

impl Locale {
    /// English, as shipped: tests and places with no list to take a language from.
    pub fn english() -> Self {
        Catalogues::load(None)
            .unwrap_or_else(|error| unreachable!("the built-in catalogues are valid: {error}"))
            .locale(&Language::english())
    }

    /// The message in this language, else in English; `None` when neither has it.
    fn find(&self, key: &str, args: Option<&FluentArgs<'_>>) -> Option<String> {
        self.catalogue
            .format(key, args)
            .or_else(|| self.english.format(key, args))
    }

    /// The message `key` with its arguments; the English message when this language lacks it.
    pub fn format(&self, key: &str, args: &[(&str, Arg<'_>)]) -> String {
        let mut fluent_args = FluentArgs::with_capacity(args.len());
        for (name, value) in args {
            fluent_args.set(*name, value.clone());
        }
        let args = (!args.is_empty()).then_some(&fluent_args);
        self.find(key, args).unwrap_or_else(|| key.to_string())
    }

    /// [`Locale::format`] for a header line (a subject): without the bidi isolation marks
    /// Fluent puts around values in right-to-left languages. Mail clients show a header as one
    /// line of its own, and some draw the marks as boxes.
    pub fn format_for_header(&self, key: &str, args: &[(&str, Arg<'_>)]) -> String {
        self.format(key, args)
            .chars()
            .filter(|c| !matches!(c, '\u{2066}'..='\u{2069}'))
            .collect()
    }

    /// The message `key` without arguments, if this language or English has it.
    pub fn lookup(&self, key: &str) -> Option<String> {
        self.find(key, None)
    }

    pub fn text(&self, key: &str) -> String {
        self.format(key, &[])
    }

    /// The BCP 47 tag for `lang` attributes.
    pub fn tag(&self) -> String {
        self.language.to_string()
    }

    pub fn is_right_to_left(&self) -> bool {
        self.language.is_right_to_left()
    }

    /// The value of `dir` attributes.
    pub fn dir(&self) -> &'static str {
        if self.is_right_to_left() {
            "rtl"
        } else {
            "ltr"
        }
    }

    /// Where lines start: "left", or "right" in a right-to-left language.
    pub fn start(&self) -> &'static str {
        if self.is_right_to_left() {
            "right"
        } else {
            "left"
        }
    }

    /// Where lines end.
    pub fn end(&self) -> &'static str {
        if self.is_right_to_left() {
            "left"
        } else {
            "right"
        }
    }

    fn date(&self, key: &str, date: NaiveDate) -> String {
        use std::fmt::Write as _;
        let pattern = self.format(key, &[]);
        let mut out = String::new();
        // The pattern was checked when the catalogue loaded; an error here leaves ISO form.
        if write!(out, "{}", date.format_localized(&pattern, self.dates)).is_err() {
            return date.to_string();
        }
        out
    }

    /// "Saturday, 28 November 2026", "السبت 28 تشرين الثاني 2026".
    pub fn long_date(&self, date: NaiveDate) -> String {
        self.date("date-long", date)
    }

    /// "28 Nov", for subjects.
    pub fn short_date(&self, date: NaiveDate) -> String {
        self.date("date-short", date)
    }

    /// A whole number with the locale's thousands separator: "12,345", "12 345", "12.345".
    pub fn number(&self, value: i64) -> String {
        let separator = pure_rust_locales::locale_match!(self.dates => LC_NUMERIC::THOUSANDS_SEP);
        let digits = value.unsigned_abs().to_string();
        let mut out = String::with_capacity(digits.len() + 8);
        if value < 0 {
            out.push('-');
        }
        for (index, digit) in digits.chars().enumerate() {
            if index > 0 && (digits.len() - index).is_multiple_of(3) {
                out.push_str(separator);
            }
            out.push(digit);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locale(tag: &str) -> Locale {
        Catalogues::load(None)
            .expect("built-in catalogues")
            .locale(&Language::parse(tag).expect("tag"))
    }

    fn date() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 28).expect("date")
    }

    #[test]
    fn every_catalogue_has_every_english_key_and_no_other() {
        let english = catalogue::parse("en", catalogue::EMBEDDED[0].1.to_string()).expect("en");
        let keys = catalogue::message_keys(&english);
        assert!(keys.len() > 40, "{keys:?}");
        for (tag, source) in catalogue::EMBEDDED {
            let resource = catalogue::parse(tag, source.to_string()).expect("parses");
            let theirs = catalogue::message_keys(&resource);
            let missing: Vec<_> = keys.iter().filter(|key| !theirs.contains(key)).collect();
            let extra: Vec<_> = theirs.iter().filter(|key| !keys.contains(key)).collect();
            assert!(missing.is_empty(), "{tag}.ftl lacks {missing:?}");
            assert!(
                extra.is_empty(),
                "{tag}.ftl has keys English lacks: {extra:?}"
            );
            let locale = locale(tag);
            for key in &keys {
                let text = locale.format(
                    key,
                    &[
                        ("name", "Ada".into()),
                        ("count", 3.into()),
                        ("shown", "3".into()),
                        ("page", 1.into()),
                        ("pages", 2.into()),
                    ],
                );
                assert!(!text.trim().is_empty(), "{tag}: {key} is empty");
            }
        }
    }

    #[test]
    fn dates_and_numbers_follow_the_locale() {
        assert_eq!(locale("en").long_date(date()), "Saturday, 28 November 2026");
        assert_eq!(locale("en").short_date(date()), "28 Nov");
        assert_eq!(locale("fr").long_date(date()), "samedi 28 novembre 2026");
        assert_eq!(locale("de").long_date(date()), "Samstag, 28. November 2026");
        assert_eq!(
            locale("es").long_date(date()),
            "sábado, 28 de noviembre de 2026"
        );
        assert_eq!(locale("ar").long_date(date()), "السبت 28 تشرين الثاني 2026");
        assert_eq!(locale("ar-EG").long_date(date()), "السبت 28 نوفمبر 2026");
        assert_eq!(locale("en").number(1_234_567), "1,234,567");
        assert_eq!(locale("de").number(1_234_567), "1.234.567");
        assert_eq!(locale("en").number(-999), "-999");
    }

    #[test]
    fn arabic_is_right_to_left_with_its_plurals() {
        let arabic = locale("ar");
        assert_eq!((arabic.dir(), arabic.start()), ("rtl", "right"));
        let count = |n: i64| {
            arabic.format(
                "page-archive-stories",
                &[("count", n.into()), ("shown", n.to_string().into())],
            )
        };
        assert_eq!(count(1), "خبر واحد");
        assert_eq!(count(2), "خبران");
        assert!(count(5).contains("أخبار"), "{}", count(5));
        assert!(count(11).contains("خبرًا"), "{}", count(11));
        assert_eq!(locale("en").dir(), "ltr");
    }

    #[test]
    fn unknown_languages_write_english() {
        let catalogues = Catalogues::load(None).expect("built-in");
        let klingon = Language::parse("tlh").expect("tag");
        assert!(!catalogues.supports(&klingon));
        assert_eq!(
            catalogues.locale(&klingon).text("digest-unsubscribe"),
            "Unsubscribe"
        );
        assert!(catalogues.supports(&Language::parse("ar-JO").expect("tag")));
    }

    #[test]
    fn a_site_directory_overrides_and_adds_languages() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(
            dir.path().join("en.ftl"),
            "digest-unsubscribe = Stop these emails\n",
        )
        .expect("write");
        std::fs::write(
            dir.path().join("pt-BR.ftl"),
            "digest-read-more = Leia mais\ndate-locale = pt_BR\n",
        )
        .expect("write");
        let catalogues = Catalogues::load(Some(dir.path())).expect("loads");
        let english = catalogues.locale(&Language::english());
        assert_eq!(english.text("digest-unsubscribe"), "Stop these emails");
        assert_eq!(
            english.text("digest-read-more"),
            "Read more",
            "the rest stays"
        );
        let portuguese = catalogues.locale(&Language::parse("pt-BR").expect("tag"));
        assert_eq!(portuguese.text("digest-read-more"), "Leia mais");
        assert_eq!(
            portuguese.text("digest-unsubscribe"),
            "Stop these emails",
            "the site's English fills gaps"
        );
        assert_eq!(
            portuguese.long_date(date()),
            "sábado, 28 novembro 2026",
            "its own names, the English pattern"
        );

        std::fs::write(
            dir.path().join("fr.ftl"),
            "digest-read-more = Lire\nbroken = {\n",
        )
        .expect("write");
        let error = Catalogues::load(Some(dir.path())).expect_err("refused");
        assert!(
            error.contains("fr.ftl:") && error.contains("not valid Fluent"),
            "{error}"
        );
        std::fs::write(dir.path().join("fr.ftl"), "date-long = %Q\n").expect("write");
        let error = Catalogues::load(Some(dir.path())).expect_err("refused");
        assert!(error.contains("date-long"), "{error}");

        for (text, reference) in [
            (
                "digest-read-more = Lire\n\ndigest-unsubscribe = { digest-nothing }\n",
                "digest-nothing",
            ),
            ("digest-unsubscribe = { -marque } ici\n", "-marque"),
            (
                "digest-unsubscribe = { digest-read-more.title }\n",
                "digest-read-more.title",
            ),
        ] {
            std::fs::write(dir.path().join("fr.ftl"), text).expect("write");
            let error = Catalogues::load(Some(dir.path())).expect_err("refused");
            let line = if text.starts_with("digest-read-more") {
                3
            } else {
                1
            };
            assert!(
                error.contains(&format!(
                    "fr.ftl:{line}: digest-unsubscribe refers to {reference}"
                )),
                "{error}"
            );
        }
        std::fs::write(
            dir.path().join("fr.ftl"),
            "-marque = Le Quotidien\ndigest-unsubscribe = { -marque } { digest-read-more }\n",
        )
        .expect("write");
        Catalogues::load(Some(dir.path())).expect("a reference the catalogue defines is fine");
    }
}
