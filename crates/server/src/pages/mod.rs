//! The console as web pages (`/console/…`, beside the JSON API at `/console/v1/…`):
//! server-rendered HTML (maud), plain forms, server-side SVG charts, and a few lines of
//! inline JavaScript for the alert dialog only.
//!
//! This module owns the web edge of the console and nothing else: sessions (a signed,
//! stateless cookie), CSRF tokens, the sign-in rate limit, the language, the page frame.
//! Every number and rule comes from the domain crates through the same calls the JSON
//! API makes (`crate::console`); RAM decides who may see and change what, with the same
//! `yundun-cloudauth:<Operation>` actions. It may not touch the store's schema or the
//! domain crates' rules.
//!
//! Sessions: the cookie `shiren_console` is `base64url(account|user|expiry).hex(mac)`,
//! the MAC an HMAC-SHA256 under a key derived from the master key (so every process
//! sharing the master key accepts it and a restart keeps sessions); `Secure`, `HttpOnly`,
//! `SameSite=Strict`, `Max-Age` 8 hours. A browser keeps `Secure` cookies of
//! `http://127.0.0.1` and `http://localhost` (potentially trustworthy origins), so the
//! loopback tests run over plain HTTP with the production attributes. Every form carries
//! a CSRF token (an HMAC of the session cookie) checked on every POST; `SameSite=Strict`
//! is the second line.

mod bills;
mod chart;
mod i18n;
mod packs;
mod records;
mod scenes;
mod signin;
mod statistics;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};
use shiren_catalog::AccountId;
use shiren_ram::SignedIn;
use shiren_store::AccountState;
use shiren_verify::Requester;
use subtle::ConstantTimeEq as _;
use tower_http::timeout::TimeoutLayer;

use crate::app::{Shared, blocking};
use crate::keys::MasterKey;
pub(crate) use crate::pages::i18n::Lang;

/// The session cookie's name.
const SESSION_COOKIE: &str = "shiren_console";
/// The language cookie's name.
const LANG_COOKIE: &str = "shiren_lang";
/// How long a session lasts.
const SESSION_SECONDS: i64 = 8 * 60 * 60;
/// The largest form body read.
const MAX_FORM_BYTES: usize = 16 << 10;

/// The console's routes (HTML), each with its own body and time limits; merged beside
/// the API's router so the API's JSON error envelope does not wrap these pages.
pub(crate) fn router(app: Shared, request_timeout: Duration) -> Router {
    let web = Arc::new(Web { app, limiter: SignInLimiter::default() });
    Router::new()
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .route("/console/", get(home))
        .route("/console/signin", get(signin::form).post(signin::submit))
        .route("/console/signout", post(signin::signout))
        .route("/console/scenes", get(scenes::show).post(scenes::create))
        .route("/console/scenes/{id}/rename", post(scenes::rename))
        .route("/console/scenes/{id}/delete", post(scenes::delete))
        .route("/console/authorization", post(scenes::authorize))
        .route("/console/statistics", get(statistics::show))
        .route("/console/records", get(records::show))
        .route("/console/packs", get(packs::show))
        .route("/console/packs/{id}/alert", post(packs::set_alert))
        .route("/console/bills", get(bills::show))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, request_timeout))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(web)
}

/// The pages' state: the app, and the sign-in limiter of this process.
pub(crate) struct Web {
    app: Shared,
    limiter: SignInLimiter,
}

/// The handlers' view of [`Web`].
pub(crate) type WebState = Arc<Web>;

async fn home(headers: HeaderMap) -> Response {
    let target =
        if cookie(&headers, SESSION_COOKIE).is_some() { "/console/scenes" } else { "/console/signin" };
    Redirect::to(target).into_response()
}

// ---- sessions ---------------------------------------------------------------------------

/// A signed-in console user.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    /// The main account.
    pub(crate) account: AccountId,
    /// Who signed in.
    pub(crate) who: SignedIn,
    /// The cookie value (the CSRF token is its MAC).
    cookie: String,
}

impl Session {
    /// The requester RAM judges.
    fn requester(&self, peer: IpAddr) -> Requester {
        let mut requester = match &self.who {
            SignedIn::MainAccount => Requester::main_account(self.account),
            SignedIn::User(user) => Requester::ram_user(self.account, user),
        };
        requester.context.source_ip = Some(peer);
        requester
    }

    /// The name shown in the page header.
    fn display_name(&self) -> String {
        match &self.who {
            SignedIn::MainAccount => format!("{} (main account)", self.account),
            SignedIn::User(user) => format!("{user} ({})", self.account),
        }
    }
}

/// A new session cookie's value for `who` of `account`, valid until `expiry`.
fn session_cookie(master: &MasterKey, account: AccountId, who: &SignedIn, expiry: DateTime<Utc>) -> String {
    let user = match who {
        SignedIn::MainAccount => "",
        SignedIn::User(user) => user.as_str(),
    };
    let payload = format!("{account}|{user}|{}", expiry.timestamp());
    let mac = master.console_session_mac(payload.as_bytes());
    let mac: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}.{mac}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload))
}

/// The session a request's cookie proves, if it is genuine and unexpired.
fn session(master: &MasterKey, headers: &HeaderMap, now: DateTime<Utc>) -> Option<Session> {
    let value = cookie(headers, SESSION_COOKIE)?;
    let (payload, mac) = value.split_once('.')?;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let expected: String = master.console_session_mac(&payload).iter().map(|b| format!("{b:02x}")).collect();
    if !bool::from(expected.as_bytes().ct_eq(mac.as_bytes())) {
        return None;
    }
    let payload = String::from_utf8(payload).ok()?;
    let mut parts = payload.split('|');
    let (Some(account), Some(user), Some(expiry), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if expiry.parse::<i64>().ok()? <= now.timestamp() {
        return None;
    }
    let who = if user.is_empty() { SignedIn::MainAccount } else { SignedIn::User(user.to_owned()) };
    Some(Session { account: AccountId::new(account).ok()?, who, cookie: value.to_owned() })
}

/// The `Set-Cookie` value of a session (empty value and `Max-Age=0` to end one).
fn set_session_cookie(value: &str, max_age: i64) -> String {
    format!("{SESSION_COOKIE}={value}; Path=/console; Max-Age={max_age}; Secure; HttpOnly; SameSite=Strict")
}

/// A cookie of the request.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// The CSRF token of a session.
fn csrf_token(master: &MasterKey, session: &Session) -> String {
    master.console_csrf_token(&session.cookie)
}

/// Whether a form's token is the session's (constant time).
fn csrf_ok(master: &MasterKey, session: &Session, token: Option<&str>) -> bool {
    let expected = csrf_token(master, session);
    token.is_some_and(|t| bool::from(expected.as_bytes().ct_eq(t.as_bytes())))
}

/// A response that ends a handler early (a redirect, a refusal, a failure page), boxed
/// so the `Result`s carrying it stay small.
pub(crate) struct Stop(Box<Response>);

impl From<Response> for Stop {
    fn from(response: Response) -> Stop {
        Stop(Box::new(response))
    }
}

impl IntoResponse for Stop {
    fn into_response(self) -> Response {
        *self.0
    }
}

// ---- what every page handler shares ----------------------------------------------------------

/// A signed-in request: the app, the session, the language, the peer.
pub(crate) struct Ctx {
    app: Shared,
    session: Session,
    lang: Lang,
    peer: IpAddr,
    csrf: String,
}

impl Ctx {
    /// The signed-in request, or the response to send instead (to the sign-in page).
    fn new(
        app: &Shared,
        headers: &HeaderMap,
        peer: SocketAddr,
        query_lang: Option<&str>,
    ) -> Result<Ctx, Stop> {
        let lang = Lang::pick(query_lang, cookie(headers, LANG_COOKIE));
        let Some(session) = session(&app.master, headers, Utc::now()) else {
            return Err(Stop::from(Redirect::to("/console/signin").into_response()));
        };
        let csrf = csrf_token(&app.master, &session);
        Ok(Ctx { app: Arc::clone(app), session, lang, peer: peer.ip(), csrf })
    }

    /// Whether RAM lets this session call console operation `operation`.
    fn may(&self, operation: &str) -> bool {
        let action = format!("yundun-cloudauth:{operation}");
        self.app.verifier.plugins().permissions.allows(
            &self.session.requester(self.peer),
            &action,
            Utc::now(),
        )
    }

    /// `Ok` when RAM allows `operation`; the "no permission" page (403) otherwise.
    fn require(&self, operation: &str) -> Result<(), Stop> {
        if self.may(operation) { Ok(()) } else { Err(self.forbidden(operation).into()) }
    }

    /// The "no permission" page.
    fn forbidden(&self, operation: &str) -> Response {
        let t = self.lang;
        let body = html! {
            section.notice #no-permission {
                h2 { (t.s("no_permission")) }
                p { (t.s("no_permission_detail")) }
                p { code { "yundun-cloudauth:" (operation) } }
            }
        };
        (StatusCode::FORBIDDEN, self.page("no_permission", body)).into_response()
    }

    /// The refusal of a POST whose CSRF token is missing or wrong.
    fn check_csrf(&self, token: Option<&str>) -> Result<(), Stop> {
        if csrf_ok(&self.app.master, &self.session, token) {
            return Ok(());
        }
        let body = html! {
            section.notice #csrf-refused {
                h2 { (self.lang.s("csrf_refused")) }
                p { (self.lang.s("csrf_refused_detail")) }
            }
        };
        Err((StatusCode::FORBIDDEN, self.page("csrf_refused", body)).into_response().into())
    }

    /// The account's state.
    async fn state(&self) -> Result<AccountState, Stop> {
        let (app, account) = (Arc::clone(&self.app), self.session.account);
        match blocking(move || app.verifier.store.account(account)).await {
            Ok(Ok(Some(state))) => Ok(state),
            Ok(Ok(None)) => Err(self.failure(StatusCode::NOT_FOUND, "the account has no state here").into()),
            Ok(Err(e)) => Err(self.failure(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()).into()),
            Err(e) => Err(self.failure(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()).into()),
        }
    }

    /// Changes the account's state in one transaction (saved only on `Ok`): the domain's
    /// refusal as `Ok(Err(..))`, a store failure as the failure page.
    async fn change<T: Send + 'static, E: Send + 'static>(
        &self,
        change: impl FnOnce(&mut AccountState, AccountId) -> Result<T, E> + Send + 'static,
    ) -> Result<Result<T, E>, Stop> {
        let (app, account) = (Arc::clone(&self.app), self.session.account);
        let outcome =
            blocking(move || app.verifier.store.update_account(account, move |s| change(s, account))).await;
        match outcome {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(e)) => Err(self.failure(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()).into()),
            Err(e) => Err(self.failure(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()).into()),
        }
    }

    /// A page saying the server could not answer.
    fn failure(&self, status: StatusCode, message: &str) -> Response {
        let body = html! { section.notice.error { h2 { (self.lang.s("unavailable")) } p { (message) } } };
        (status, self.page("unavailable", body)).into_response()
    }

    /// The hidden CSRF field of a form.
    fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(self.csrf); }
    }

    /// A whole page: the frame, the navigation, `body`.
    fn page(&self, title_key: &'static str, body: Markup) -> Html<String> {
        frame(self.lang, self.lang.s(title_key), Some(self), body)
    }
}

/// The page frame; `ctx` `None` on the sign-in page.
fn frame(lang: Lang, title: &str, ctx: Option<&Ctx>, body: Markup) -> Html<String> {
    let markup = html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (lang.s("console")) }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                header {
                    strong { (lang.s("console")) }
                    @if let Some(ctx) = ctx {
                        nav {
                            a href="/console/scenes" { (lang.s("scenes")) }
                            a href="/console/statistics" { (lang.s("statistics")) }
                            a href="/console/records" { (lang.s("records")) }
                            a href="/console/packs" { (lang.s("packs")) }
                            a href="/console/bills" { (lang.s("bills")) }
                        }
                        span.who #who { (ctx.session.display_name()) }
                        form.inline method="post" action="/console/signout" {
                            (ctx.csrf_field())
                            button type="submit" #signout { (lang.s("sign_out")) }
                        }
                    }
                    span.lang {
                        a href="?lang=zh" { "中文" } " | " a href="?lang=en" { "English" }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    };
    Html(markup.into_string())
}

/// A response with the language cookie set when the query chose a language.
fn with_lang(response: Response, query_lang: Option<&str>) -> Response {
    let Some(lang) = query_lang.and_then(Lang::parse) else { return response };
    let mut response = response;
    let value = format!("{LANG_COOKIE}={}; Path=/console; Max-Age=31536000; SameSite=Strict", lang.code());
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// After a successful change: back to the page (POST, redirect, GET).
fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A time in China Standard Time (UTC+8, as the console shows it).
fn local_time(at: DateTime<Utc>) -> String {
    match chrono::FixedOffset::east_opt(8 * 3600) {
        Some(zone) => at.with_timezone(&zone).format("%Y-%m-%d %H:%M:%S").to_string(),
        None => at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    }
}

// ---- the sign-in rate limit ----------------------------------------------------------------------

/// Failed sign-ins allowed per login name within [`WINDOW`].
const PER_NAME: u32 = 5;
/// Failed sign-ins allowed per client IP within [`WINDOW`].
const PER_IP: u32 = 20;
/// The window of the counts.
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// The most names and addresses remembered; when full, expired entries go first, then
/// the map refuses new keys (fail closed) until some expire.
const MAX_ENTRIES: usize = 10_000;

/// Failed sign-in counts per login name and per IP, in this process's memory.
#[derive(Debug, Default)]
pub(crate) struct SignInLimiter {
    counts: Mutex<HashMap<String, (Instant, u32)>>,
}

impl SignInLimiter {
    /// Whether another attempt for `name` from `ip` may be checked now.
    fn allows(&self, name: &str, ip: IpAddr, now: Instant) -> bool {
        let Ok(counts) = self.counts.lock() else { return false };
        let under = |key: &str, limit: u32| {
            counts.get(key).is_none_or(|(since, n)| now.duration_since(*since) >= WINDOW || *n < limit)
        };
        under(&name_key(name), PER_NAME) && under(&ip_key(ip), PER_IP)
    }

    /// Counts a failed attempt; `false` when the map is full (the attempt is refused).
    fn failed(&self, name: &str, ip: IpAddr, now: Instant) -> bool {
        let Ok(mut counts) = self.counts.lock() else { return false };
        for key in [name_key(name), ip_key(ip)] {
            if !counts.contains_key(&key) && counts.len() >= MAX_ENTRIES {
                counts.retain(|_, (since, _)| now.duration_since(*since) < WINDOW);
                if counts.len() >= MAX_ENTRIES {
                    return false;
                }
            }
            let entry = counts.entry(key).or_insert((now, 0));
            if now.duration_since(entry.0) >= WINDOW {
                *entry = (now, 0);
            }
            entry.1 = entry.1.saturating_add(1);
        }
        true
    }

    /// Forgets the name's failures after a successful sign-in.
    fn succeeded(&self, name: &str) {
        if let Ok(mut counts) = self.counts.lock() {
            counts.remove(&name_key(name));
        }
    }
}

/// The longest part of a login name a count is kept under (a login name is at most
/// 64 + 1 + 253 characters; longer input cannot name anyone and must not bloat the map).
const MAX_KEY_CHARS: usize = 320;

fn name_key(name: &str) -> String {
    let name: String = name.trim().to_lowercase().chars().take(MAX_KEY_CHARS).collect();
    format!("name:{name}")
}

/// An IPv4 address, or the /64 of an IPv6 one (a single host usually holds a whole /64).
fn ip_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("ip:{v4}"),
            None => {
                let s = v6.segments();
                let prefix: Vec<String> = s.iter().take(4).map(|x| format!("{x:x}")).collect();
                format!("ip:{}::/64", prefix.join(":"))
            }
        },
    }
}

/// The one script of the console: opens a pack's alert dialog.
pub(crate) const DIALOG_SCRIPT: &str = "document.querySelectorAll('button.alert-open').forEach(b=>b.addEventListener('click',()=>document.getElementById(b.dataset.dialog).showModal()));";

/// The Content-Security-Policy of every page: nothing loads but this origin's pages, and
/// only the console's own inline style and script run (by hash) — an injected script,
/// event handler or style would not, were escaping ever to fail.
fn content_security_policy() -> &'static str {
    static POLICY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    POLICY.get_or_init(|| {
        use sha2::Digest as _;
        let hash = |text: &str| base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(text.as_bytes()));
        format!(
            "default-src 'none'; style-src 'sha256-{}'; script-src 'sha256-{}'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            hash(STYLE),
            hash(DIALOG_SCRIPT)
        )
    })
}

/// Headers of every console page: the CSP, no framing, no referrer (URLs carry certify
/// IDs and pre-signed photo links), no caching of pages that show personal data.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    if let Ok(policy) = HeaderValue::from_str(content_security_policy()) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The console's inline style sheet (no external assets).
const STYLE: &str = r#"
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;color:#222;background:#f5f6f8}
header{display:flex;gap:1.2em;align-items:center;padding:.6em 1.2em;background:#20232a;color:#fff}
header a{color:#9cf;margin-right:.8em}header .who{margin-left:auto}
main{padding:1em 1.6em}form.inline{display:inline}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.8em;margin:.6em 0}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(22em,1fr));gap:.8em}
.tabs a{padding:.4em .8em;border:1px solid #ccc;border-bottom:none;background:#eee;text-decoration:none;color:#222}
.tabs a.active{background:#fff;font-weight:bold}
.error{color:#b00020}.notice{background:#fff;border:1px solid #ddd;padding:1em}
table{border-collapse:collapse;background:#fff}td,th{border:1px solid #ddd;padding:.3em .6em;text-align:left}
dl.details{display:grid;grid-template-columns:max-content auto;gap:.2em 1em;background:#fff;padding:1em}
dl.details dt{font-weight:bold}
svg{background:#fff;border:1px solid #ddd;margin:.4em .4em .4em 0}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn master() -> MasterKey {
        MasterKey::from_hex(&"cd".repeat(32)).unwrap()
    }

    fn with_cookie(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("a=b; {SESSION_COOKIE}={value}")).unwrap(),
        );
        headers
    }

    #[test]
    fn a_session_cookie_proves_its_user_until_it_expires_and_not_after_tampering() {
        let master = master();
        let account = AccountId::new("1234567890123456").unwrap();
        let now = Utc::now();
        let who = SignedIn::User("auditor".into());
        let value = session_cookie(&master, account, &who, now + chrono::Duration::hours(1));
        let session = session(&master, &with_cookie(&value), now).unwrap();
        assert_eq!((session.account, session.who), (account, who.clone()));
        // Expired.
        assert!(super::session(&master, &with_cookie(&value), now + chrono::Duration::hours(2)).is_none());
        // Another master key.
        let other = MasterKey::from_hex(&"ef".repeat(32)).unwrap();
        assert!(super::session(&other, &with_cookie(&value), now).is_none());
        // The payload changed to another user (the MAC no longer matches).
        let (_, mac) = value.split_once('.').unwrap();
        let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!("{account}|kyc-service|{}", (now + chrono::Duration::hours(1)).timestamp()));
        assert!(super::session(&master, &with_cookie(&format!("{forged}.{mac}")), now).is_none());
        for junk in ["", ".", "x.y", "%%%.00", &value.replace('.', "")] {
            assert!(super::session(&master, &with_cookie(junk), now).is_none(), "{junk}");
        }
        // The main account.
        let root = session_cookie(&master, account, &SignedIn::MainAccount, now + chrono::Duration::hours(1));
        assert_eq!(super::session(&master, &with_cookie(&root), now).unwrap().who, SignedIn::MainAccount);
    }

    #[test]
    fn the_csrf_token_belongs_to_one_session() {
        let master = master();
        let account = AccountId::new("1234567890123456").unwrap();
        let now = Utc::now();
        let later = now + chrono::Duration::hours(1);
        let a = session(
            &master,
            &with_cookie(&session_cookie(&master, account, &SignedIn::MainAccount, later)),
            now,
        )
        .unwrap();
        let b = session(
            &master,
            &with_cookie(&session_cookie(&master, account, &SignedIn::User("auditor".into()), later)),
            now,
        )
        .unwrap();
        let token = csrf_token(&master, &a);
        assert!(csrf_ok(&master, &a, Some(&token)));
        assert!(!csrf_ok(&master, &b, Some(&token)));
        assert!(!csrf_ok(&master, &a, None));
        assert!(!csrf_ok(&master, &a, Some("")));
        assert!(set_session_cookie("v", 60).contains("Secure; HttpOnly; SameSite=Strict"));
    }

    #[test]
    fn sign_ins_are_limited_per_name_and_per_ip_within_the_window() {
        let limiter = SignInLimiter::default();
        let (ip, other_ip) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        let start = Instant::now();
        for _ in 0..PER_NAME {
            assert!(limiter.allows("alice@corp", ip, start));
            assert!(limiter.failed("alice@corp", ip, start));
        }
        assert!(!limiter.allows("alice@corp", ip, start), "the name is locked");
        assert!(!limiter.allows("ALICE@corp ", other_ip, start), "from any address, in any case");
        assert!(limiter.allows("bob@corp", ip, start), "other names from the address still may");
        assert!(limiter.allows("alice@corp", ip, start + WINDOW), "the window passes");
        // Per address: many names from one address.
        for n in 0..PER_IP {
            assert!(limiter.failed(&format!("user{n}@corp"), other_ip, start));
        }
        assert!(!limiter.allows("fresh@corp", other_ip, start), "the address is locked");
        // A success forgets the name's failures.
        let limiter = SignInLimiter::default();
        for _ in 0..PER_NAME - 1 {
            limiter.failed("carol@corp", ip, start);
        }
        limiter.succeeded("carol@corp");
        assert!(limiter.failed("carol@corp", ip, start) && limiter.allows("carol@corp", ip, start));
    }

    #[test]
    fn counts_are_kept_per_ipv6_64_and_under_a_bounded_name() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ip_key(a), ip_key(b));
        assert_ne!(ip_key(a), ip_key(c));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(ip_key(mapped), ip_key(IpAddr::from([10, 0, 0, 1])));
        assert!(name_key(&"a".repeat(10_000)).len() <= MAX_KEY_CHARS + 5);
        assert_eq!(name_key(" Alice@Corp "), name_key("alice@corp"));
    }

    #[test]
    fn the_limiter_map_is_bounded_and_fails_closed_when_full() {
        let limiter = SignInLimiter::default();
        let start = Instant::now();
        let mut n = 0u32;
        // Distinct names from distinct addresses: two entries per failure.
        while limiter.counts.lock().unwrap().len() + 2 <= MAX_ENTRIES {
            let ip = IpAddr::from(n.to_be_bytes());
            assert!(limiter.failed(&format!("u{n}@corp"), ip, start));
            n += 1;
        }
        let ip = IpAddr::from([192, 168, 0, 1]);
        assert!(!limiter.failed("new@corp", ip, start), "full: refused, not grown");
        assert!(limiter.counts.lock().unwrap().len() <= MAX_ENTRIES);
        // Once the window has passed, the expired entries make room.
        assert!(limiter.failed("new@corp", ip, start + WINDOW));
        assert!(limiter.counts.lock().unwrap().len() <= 2);
    }
}
