//! The digest's palette and type. Six-digit hex colours only; every text cell repeats its font,
//! size, line height and colour inline because some email clients drop inherited styles.

pub const FONT_STACK: &str = "-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";
pub const PAGE_BACKGROUND: &str = "#f2f3f5";
pub const CARD_BACKGROUND: &str = "#ffffff";
pub const TEXT: &str = "#1f2328";
pub const MUTED: &str = "#59636e";
pub const RULE: &str = "#d8dee4";
pub const WIDTH: u32 = 600;

/// The content width inside the card's 24px padding: pictures are at most this wide.
pub const CONTENT_WIDTH: u32 = WIDTH - 48;
/// The width of a thumbnail beside a story.
pub const THUMBNAIL_WIDTH: u32 = 120;
/// Behind a picture: what shows while it loads or when images are blocked, and what keeps a
/// transparent picture legible on a dark background.
pub const PICTURE_BACKGROUND: &str = "#e8ebef";

/// Lets a word or URL longer than the line break anywhere rather than widen the whole email
/// past a phone's screen (`anywhere` also shrinks the cell's narrowest width, which
/// `break-word` alone does not; `word-break` is for older WebKit and Outlook.com).
pub const WRAP: &str = "overflow-wrap: anywhere; word-wrap: break-word; word-break: break-word;";

/// Inline style for a text cell; `align` is where lines start or end ("left", "right",
/// "center"), so right-to-left editions set it per cell rather than inheriting it. [`WRAP`] is
/// inline only on story text (what a feed writes) and in the head's CSS for every cell: inline
/// on every cell it made each message 14% larger.
pub fn text_cell(size: u32, line_height: u32, color: &str, padding: &str, align: &str) -> String {
    format!(
        "padding: {padding}; font-family: {FONT_STACK}; font-size: {size}px; \
         line-height: {line_height}px; color: {color}; text-align: {align};"
    )
}

/// Dark-mode overrides for clients that honour `prefers-color-scheme`; the light colours above
/// stay readable where they do not.
pub const HEAD_CSS: &str = "\
:root { color-scheme: light dark; supported-color-schemes: light dark; }
body { margin: 0 !important; padding: 0 !important; width: 100% !important; }
table, td { mso-table-lspace: 0pt !important; mso-table-rspace: 0pt !important; }
a[x-apple-data-detectors] { color: inherit !important; text-decoration: none !important; }
td { overflow-wrap: anywhere; word-wrap: break-word; word-break: break-word; }
@media (prefers-color-scheme: dark) {
  .h-page { background-color: #0d1117 !important; }
  .h-card { background-color: #161b22 !important; }
  .h-text { color: #e6edf3 !important; }
  .h-muted { color: #9198a1 !important; }
  .h-link { color: #79c0ff !important; }
  .h-picture { background-color: #e8ebef !important; }
}
@media screen and (max-width: 600px) {
  .h-pad { padding-left: 16px !important; padding-right: 16px !important; }
  .h-fluid { width: 100% !important; max-width: 100% !important; height: auto !important; }
  .h-thumb-cell { width: 96px !important; }
  .h-thumb { width: 80px !important; height: auto !important; }
}";
