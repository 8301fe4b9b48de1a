//! The HTTP side of `herald serve` (axum): sign-up with double opt-in, confirm and unsubscribe
//! links, the edition archive, health and metrics. Thin handlers over `store` and `templates`.

mod api;
mod archive;
mod clicks;
pub mod error;
mod fallback;
mod health;
mod links;
pub mod listener;
mod picks;
pub mod server;
mod subscribe;
mod webhooks;

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use maud::Markup;
use secrecy::SecretString;

use crate::app::App;
use crate::domain::Language;
use crate::locale::Locale;
use crate::store;

#[derive(Clone)]
pub struct WebState {
    pub app: App,
    /// Nudges the daemon's confirmation sender when a sign-up queued a mail.
    pub confirmations: Arc<tokio::sync::Notify>,
    /// Nudges the daemon's picture measurer when the story API stored unmeasured pictures.
    pub pictures: Arc<tokio::sync::Notify>,
    pub limiter: Arc<IpLimiter>,
    /// `None`: the story API is off.
    pub api_token: Option<Arc<SecretString>>,
    /// `None`: the bounce webhooks are off.
    pub webhook_secret: Option<Arc<SecretString>>,
    /// Reads the VERP tags provider events carry.
    pub verp: Option<Arc<crate::bounces::verp::Verp>>,
    pub links: Arc<CountedLinks>,
}

/// What the counted-link handler needs: the key, where links lead, and the counter the
/// daemon flushes.
pub struct CountedLinks {
    pub key: crate::clicks::LinkKey,
    pub destinations: crate::clicks::Destinations,
    pub counter: Arc<crate::clicks::ClickCounter>,
}

impl WebState {
    /// Reads the API token (from its file, if given as one) once, at start.
    /// Handlers get a pool of their own whose statements give up on a busy database after
    /// [`store::WEB_BUSY_TIMEOUT`], so a long import answers readers with 503, not a hang.
    pub async fn new(
        mut app: App,
        confirmations: Arc<tokio::sync::Notify>,
        pictures: Arc<tokio::sync::Notify>,
        clicks: Arc<crate::clicks::ClickCounter>,
    ) -> anyhow::Result<Self> {
        let api_token = app.settings.api.token.resolve()?.map(Arc::new);
        let webhook_secret = app.settings.bounces.webhook_secret.resolve()?.map(Arc::new);
        let verp = crate::bounces::verp(&app).await?.map(Arc::new);
        let links = Arc::new(CountedLinks {
            key: crate::clicks::LinkKey::load(&app.pool).await?,
            destinations: crate::clicks::Destinations::default(),
            counter: clicks,
        });
        if !app.settings.database.url.contains(":memory:") {
            app.pool =
                store::connect_impatient(&app.settings.database.url, store::WEB_BUSY_TIMEOUT)
                    .await?;
        }
        Ok(Self {
            app,
            confirmations,
            pictures,
            limiter: Arc::new(IpLimiter::new(SIGNUPS_PER_IP, SIGNUP_WINDOW)),
            api_token,
            webhook_secret,
            verp,
            links,
        })
    }
}

impl WebState {
    /// The words of pages for readers of `language`.
    fn locale(&self, language: &Language) -> Locale {
        self.app.settings.locale.catalogues.locale(language)
    }

    /// For pages that belong to no list.
    fn english(&self) -> Locale {
        self.locale(&Language::english())
    }

    /// The catalogue's message `key`, titled by `key-title`, as a small page with `status`.
    fn message_page(&self, status: StatusCode, locale: &Locale, key: &str) -> Response {
        let title = format!("{key}-title");
        html(
            status,
            crate::templates::pages::message(&self.app.settings.newsletter, locale, &title, key),
        )
    }

    /// The words of a list's pages; English if the list is gone or unreadable (the page then
    /// says so in English rather than failing).
    async fn list_locale(&self, list_id: i64) -> Locale {
        match store::lists::get(&self.app.pool, list_id).await {
            Ok(list) => self.locale(&list.language),
            Err(_) => self.english(),
        }
    }
}

/// Sign-ups one client address may make per window, against list-bombing.
pub const SIGNUPS_PER_IP: usize = 10;
pub const SIGNUP_WINDOW: Duration = Duration::from_secs(600);

pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/subscribe", get(subscribe::form).post(subscribe::submit))
        .route("/confirm/{token}", get(links::confirm))
        .route("/unsubscribe", get(links::unsubscribe_help))
        .route(
            "/unsubscribe/{token}",
            get(links::unsubscribe_page).post(links::unsubscribe),
        )
        .route("/archive/{list}", get(archive::index))
        .route("/archive/{list}/feed.xml", get(archive::feed))
        .route("/archive/{list}/{date}", get(archive::edition))
        .route("/r/{link}", get(clicks::follow))
        .route("/r/{link}/{tag}", get(clicks::follow_tagged))
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(health::metrics))
        .route(
            "/api/stories",
            put(api::put_stories).layer(DefaultBodyLimit::max(api::BODY_LIMIT)),
        )
        .route(
            "/api/lists/{list}/editions/{date}/pins",
            put(picks::put_pins).layer(DefaultBodyLimit::max(api::BODY_LIMIT)),
        )
        .route(
            "/api/lists/{list}/editions/{date}/drops",
            put(picks::put_drops).layer(DefaultBodyLimit::max(api::BODY_LIMIT)),
        )
        .route(
            "/webhooks/{provider}",
            post(webhooks::receive).layer(DefaultBodyLimit::max(webhooks::BODY_LIMIT)),
        )
        .fallback(fallback::not_found)
        .method_not_allowed_fallback(fallback::wrong_method)
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// On every answer: no framing by other sites (clickjacking the unsubscribe button), no content
/// sniffing, and no full URL (a token) leaked in Referer to the sites the archive links to.
async fn security_headers(mut response: Response) -> Response {
    use axum::http::header::{self, HeaderValue};
    let headers = response.headers_mut();
    for (name, value) in [
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CONTENT_SECURITY_POLICY, "frame-ancestors 'none'"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    response
}

fn html(status: StatusCode, markup: Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}

/// A sliding-window counter per client address.
pub struct IpLimiter {
    limit: usize,
    window: Duration,
    seen: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl IpLimiter {
    pub fn new(limit: usize, window: Duration) -> Self {
        Self {
            limit,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request from `ip`; false when it is over the limit.
    pub fn allow(&self, ip: IpAddr) -> bool {
        let now = Instant::now();
        let Ok(mut seen) = self.seen.lock() else {
            return true;
        };
        // Forget addresses whose window has passed, so the map stays small.
        if seen.len() > 10_000 {
            seen.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < self.window)
            });
        }
        let times = seen.entry(ip).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            times.pop_front();
        }
        if times.len() >= self.limit {
            return false;
        }
        times.push_back(now);
        true
    }
}
