//! The sign-in page: a RAM user's login name in any of its three forms (or the main
//! account's ID) and a password, checked by `shiren_ram::Directory::sign_in` against the
//! stored argon2id hash; attempts rate-limited per name and per IP. Sign-out ends the
//! cookie. Owns no rule of who may sign in: the directory decides.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Form;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use subtle::ConstantTimeEq as _;

use super::{
    Ctx, LANG_COOKIE, Lang, SESSION_SECONDS, WebState, cookie, frame, session_cookie, set_session_cookie,
};
use crate::app::blocking;
use crate::keys::MasterKey;

/// `?lang=`.
#[derive(Debug, Deserialize)]
pub(crate) struct LangQuery {
    lang: Option<String>,
}

/// The sign-in form's fields.
#[derive(Deserialize)]
pub(crate) struct SignInForm {
    login_name: String,
    password: String,
    /// The MAC of the `shiren_login` cookie.
    csrf: Option<String>,
}

/// The pre-session cookie of the sign-in form.
const LOGIN_COOKIE: &str = "shiren_login";

/// The form token of a pre-session cookie value.
fn login_token(master: &MasterKey, nonce: &str) -> String {
    master.console_csrf_token(&format!("sign-in:{nonce}"))
}

impl std::fmt::Debug for SignInForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInForm").field("login_name", &self.login_name).finish_non_exhaustive()
    }
}

fn form_markup(lang: Lang, token: &str, name: &str, error: Option<&str>) -> Markup {
    html! {
        form.card #signin method="post" action="/console/signin" {
            input type="hidden" name="csrf" value=(token);
            @if let Some(error) = error { p.error #signin-error { (error) } }
            p {
                label for="login_name" { (lang.s("login_name")) } br;
                input #login_name type="text" name="login_name" value=(name) size="40" autocomplete="username" required;
                br; small { (lang.s("login_name_hint")) }
            }
            p {
                label for="password" { (lang.s("password")) } br;
                input #password type="password" name="password" size="40" autocomplete="current-password" required;
            }
            button #signin-submit type="submit" { (lang.s("sign_in")) }
        }
    }
}

/// `GET /console/signin`: the form, with a pre-session cookie (kept when it has one).
pub(crate) async fn form(
    State(web): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = Lang::pick(q.lang.as_deref(), cookie(&headers, LANG_COOKIE));
    let nonce = match cookie(&headers, LOGIN_COOKIE)
        .filter(|n| n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        Some(nonce) => nonce.to_owned(),
        None => format!("{:032x}", rand::random::<u128>()),
    };
    let token = login_token(&web.app.master, &nonce);
    let page = frame(lang, lang.s("sign_in"), None, form_markup(lang, &token, "", None));
    let mut response = super::with_lang(page.into_response(), q.lang.as_deref());
    let value =
        format!("{LOGIN_COOKIE}={nonce}; Path=/console; Max-Age=3600; Secure; HttpOnly; SameSite=Strict");
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `POST /console/signin`.
pub(crate) async fn submit(
    State(web): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let lang = Lang::pick(None, cookie(&headers, LANG_COOKIE));
    let nonce = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    let token = login_token(&web.app.master, nonce);
    let genuine = !nonce.is_empty()
        && form.csrf.as_deref().is_some_and(|t| bool::from(token.as_bytes().ct_eq(t.as_bytes())));
    let refuse = |status: StatusCode, key: &'static str| {
        let page = frame(
            lang,
            lang.s("sign_in"),
            None,
            form_markup(lang, &token, &form.login_name, Some(lang.s(key))),
        );
        (status, page).into_response()
    };
    if !genuine {
        return refuse(StatusCode::FORBIDDEN, "csrf_refused_detail");
    }
    let ip = peer.ip();
    if !web.limiter.allows(&form.login_name, ip, Instant::now()) {
        tracing::warn!(%ip, "console sign-in rate-limited");
        return refuse(StatusCode::TOO_MANY_REQUESTS, "sign_in_limited");
    }
    let (worker, name, password) = (Arc::clone(&web.app), form.login_name.clone(), form.password.clone());
    // argon2 costs tens of milliseconds: off the async runtime.
    let outcome = blocking(move || {
        let Ok(tenants) = worker.tenants.0.read() else { return None };
        tenants.sign_in(&name, &password)
    })
    .await;
    let Ok(Some((account, who))) = outcome else {
        if !web.limiter.failed(&form.login_name, ip, Instant::now()) {
            return refuse(StatusCode::TOO_MANY_REQUESTS, "sign_in_limited");
        }
        tracing::info!(%ip, "console sign-in refused");
        return refuse(StatusCode::UNAUTHORIZED, "sign_in_refused");
    };
    web.limiter.succeeded(&form.login_name);
    let expiry = Utc::now() + chrono::Duration::seconds(SESSION_SECONDS);
    let value = session_cookie(&web.app.master, account, &who, expiry);
    tracing::info!(account = %account, "console sign-in");
    let mut response = Redirect::to("/console/scenes").into_response();
    if let Ok(cookie) = HeaderValue::from_str(&set_session_cookie(&value, SESSION_SECONDS)) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The sign-out form's fields.
#[derive(Debug, Deserialize)]
pub(crate) struct CsrfForm {
    csrf: Option<String>,
}

/// `POST /console/signout`.
pub(crate) async fn signout(
    State(web): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let ctx = match Ctx::new(&web.app, &headers, peer, None) {
        Ok(ctx) => ctx,
        Err(stop) => return stop.into_response(),
    };
    if let Err(refused) = ctx.check_csrf(form.csrf.as_deref()) {
        return refused.into_response();
    }
    let mut response = Redirect::to("/console/signin").into_response();
    if let Ok(cookie) = HeaderValue::from_str(&set_session_cookie("", 0)) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}
