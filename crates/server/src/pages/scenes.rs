//! Access settings (接入设置): one tab per solution tab, the scene cards (name, scene ID,
//! creation time, solution, product code), "new scene", rename and delete, and the
//! photo-storage authorization with its bucket. The registry (`shiren_scene`) decides
//! every rule — the name rule and its messages included; RAM decides who may change
//! (`CreateScene`, `UpdateScene`, `DeleteScene`, `CreateAuthorization`) and who may see
//! (`DescribeScenes`). Read-only users see no change buttons, and their POSTs are refused.

use std::net::SocketAddr;

use axum::Form;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use maud::html;
use serde::Deserialize;
use shiren_catalog::{ProductCode, Solution, SolutionTab};
use shiren_scene::{NewScene, PhotoStorage, SceneError, SceneId, SceneRegistry};
use shiren_store::AccountState;

use super::{Ctx, Stop, WebState, local_time, see_other, with_lang};

/// `?tab=&lang=`.
#[derive(Debug, Deserialize)]
pub(crate) struct ScenesQuery {
    tab: Option<String>,
    lang: Option<String>,
}

/// Every form of this page: the token, the tab to return to, and the fields it uses.
#[derive(Debug, Deserialize)]
pub(crate) struct SceneForm {
    csrf: Option<String>,
    tab: Option<String>,
    name: Option<String>,
    /// `Solution:PRODUCT`, e.g. `App:ID_PRO`.
    offer: Option<String>,
}

const TABS: [SolutionTab; 4] = [
    SolutionTab::RealPerson,
    SolutionTab::LivenessFaceVerification,
    SolutionTab::LivenessDetection,
    SolutionTab::FaceComparison,
];

fn tab_of(text: Option<&str>) -> SolutionTab {
    text.and_then(|t| t.parse::<SolutionTab>().ok()).unwrap_or(SolutionTab::RealPerson)
}

fn page_url(tab: SolutionTab) -> String {
    format!("/console/scenes?tab={tab}")
}

/// The solution/product pairs a new scene of `tab` may take.
fn offers(tab: SolutionTab) -> Vec<(Solution, ProductCode)> {
    Solution::PRICED
        .iter()
        .filter(|s| s.facts().tab == tab)
        .flat_map(|s| s.products().iter().map(move |p| (*s, *p)))
        .filter(|(_, p)| p.tab() == tab)
        .collect()
}

fn parse_offer(text: &str) -> Option<(Solution, ProductCode)> {
    let (solution, product) = text.split_once(':')?;
    let solution = Solution::ALL.iter().copied().find(|s| format!("{s:?}") == solution)?;
    Some((solution, product.parse().ok()?))
}

/// The domain's refusal in the page's language (the empty name has its seed wording).
fn refusal(ctx: &Ctx, e: &SceneError) -> String {
    match e {
        SceneError::EmptyName => ctx.lang.s("empty_name").to_owned(),
        other => other.to_string(),
    }
}

fn render(
    ctx: &Ctx,
    state: &AccountState,
    tab: SolutionTab,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let t = ctx.lang;
    let account = ctx.session.account;
    let scenes = state.scenes.list(&account, Some(tab));
    let authorization = state.scenes.authorization(&account);
    let (may_create, may_rename, may_delete, may_authorize) = (
        ctx.may("CreateScene"),
        ctx.may("UpdateScene"),
        ctx.may("DeleteScene"),
        ctx.may("CreateAuthorization"),
    );
    let tab_code = tab.to_string();
    let body = html! {
        nav.tabs #tabs {
            @for each in TABS {
                a class=@if each == tab { "active" } @else { "" } href=(page_url(each)) data-tab=(each.to_string()) { (each.title()) }
            }
        }
        @if let Some(error) = error { p.error #scene-error role="alert" { (error) } }
        section.card #authorization {
            h2 { (t.s("authorization")) }
            @if authorization.service {
                p #authorized { (t.s("authorized")) }
            } @else {
                p #not-authorized { (t.s("not_authorized")) }
            }
            @if let Some(bucket) = &authorization.bucket {
                p { (t.s("bucket")) ": " code #bucket { (bucket) } }
            } @else if may_authorize {
                form method="post" action="/console/authorization" {
                    (ctx.csrf_field())
                    input type="hidden" name="tab" value=(tab_code);
                    button #authorize type="submit" { (t.s("authorize_storage")) }
                }
            }
        }
        @if may_create {
            section.card #new-scene {
                h2 { (t.s("new_scene")) }
                form #create-scene method="post" action="/console/scenes" {
                    (ctx.csrf_field())
                    input type="hidden" name="tab" value=(tab_code);
                    label { (t.s("scene_name")) " " input #new-scene-name type="text" name="name" maxlength="64"; }
                    " "
                    label { (t.s("solution")) " "
                        select #new-scene-offer name="offer" {
                            @for (solution, product) in offers(tab) {
                                option value={ (format!("{solution:?}")) ":" (product) } { (solution.title()) " · " (product) }
                            }
                        }
                    }
                    " "
                    button #create-scene-submit type="submit" { (t.s("create")) }
                }
            }
        }
        section.cards #scene-cards {
            @if scenes.is_empty() { p { (t.s("no_scenes")) } }
            @for scene in &scenes {
                div.card.scene data-scene-id=(scene.id.get()) {
                    h3.scene-name { (scene.name) }
                    dl.details {
                        dt { (t.s("scene_id")) } dd.scene-id { (scene.id.get()) }
                        dt { (t.s("created_at")) } dd { (local_time(scene.created_at)) }
                        dt { (t.s("solution")) } dd { (scene.solution.title()) }
                        dt { (t.s("product_code")) } dd { (scene.product) }
                    }
                    @if may_rename {
                        form.rename method="post" action={ "/console/scenes/" (scene.id.get()) "/rename" } {
                            (ctx.csrf_field())
                            input type="hidden" name="tab" value=(tab_code);
                            input.rename-name type="text" name="name" value=(scene.name) maxlength="64";
                            " " button.rename-submit type="submit" { (t.s("rename")) }
                        }
                    }
                    @if may_delete {
                        form.delete method="post" action={ "/console/scenes/" (scene.id.get()) "/delete" } {
                            (ctx.csrf_field())
                            input type="hidden" name="tab" value=(tab_code);
                            button.delete-submit type="submit" { (t.s("delete")) }
                        }
                    }
                }
            }
        }
    };
    (status, ctx.page("scenes", body)).into_response()
}

/// `GET /console/scenes`.
pub(crate) async fn show(
    State(web): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<ScenesQuery>,
) -> Response {
    let ctx = match Ctx::new(&web.app, &headers, peer, q.lang.as_deref()) {
        Ok(ctx) => ctx,
        Err(stop) => return stop.into_response(),
    };
    let response = match ctx.require("DescribeScenes") {
        Err(refused) => refused.into_response(),
        Ok(()) => match ctx.state().await {
            Ok(state) => render(&ctx, &state, tab_of(q.tab.as_deref()), None, StatusCode::OK),
            Err(stop) => stop.into_response(),
        },
    };
    with_lang(response, q.lang.as_deref())
}

/// The checks every change makes: signed in, token, RAM.
fn admit(
    web: &WebState,
    headers: &HeaderMap,
    peer: SocketAddr,
    form: &SceneForm,
    operation: &str,
) -> Result<Ctx, Stop> {
    let ctx = Ctx::new(&web.app, headers, peer, None)?;
    ctx.check_csrf(form.csrf.as_deref())?;
    ctx.require(operation)?;
    Ok(ctx)
}

/// The page again with the domain's refusal (400), or back to it on success.
async fn answer<T>(ctx: &Ctx, tab: SolutionTab, outcome: Result<Result<T, SceneError>, Stop>) -> Response {
    match outcome {
        Err(stop) => stop.into_response(),
        Ok(Ok(_)) => see_other(&page_url(tab)),
        Ok(Err(e)) => match ctx.state().await {
            Ok(state) => render(ctx, &state, tab, Some(&refusal(ctx, &e)), StatusCode::BAD_REQUEST),
            Err(stop) => stop.into_response(),
        },
    }
}

/// `POST /console/scenes` — new scene.
pub(crate) async fn create(
    State(web): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<SceneForm>,
) -> Response {
    let ctx = match admit(&web, &headers, peer, &form, "CreateScene") {
        Ok(ctx) => ctx,
        Err(stop) => return stop.into_response(),
    };
    let tab = tab_of(form.tab.as_deref());
    let Some((solution, product)) = form.offer.as_deref().and_then(parse_offer) else {
        return match ctx.state().await {
            Ok(state) => {
                render(&ctx, &state, tab, Some("choose a solution and product code"), StatusCode::BAD_REQUEST)
            }
            Err(stop) => stop.into_response(),
        };
    };
    let name = form.name.unwrap_or_default();
    let now = Utc::now();
    let outcome = ctx
        .change(move |state, account| {
            let new = NewScene {
                account,
                name,
                solution,
                product,
                storage: PhotoStorage::DEFAULT,
                mini_program: None,
            };
            state.scenes.create(new, now)
        })
        .await;
    answer(&ctx, solution.facts().tab, outcome).await
}

fn scene_id(text: &str) -> Option<SceneId> {
    text.parse::<u64>().ok().map(SceneId::new)
}

/// `POST /console/scenes/{id}/rename`.
pub(crate) async fn rename(
    State(web): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<SceneForm>,
) -> Response {
    let ctx = match admit(&web, &headers, peer, &form, "UpdateScene") {
        Ok(ctx) => ctx,
        Err(stop) => return stop.into_response(),
    };
    let tab = tab_of(form.tab.as_deref());
    let Some(id) = scene_id(&id) else { return ctx.failure(StatusCode::NOT_FOUND, "no such scene") };
    let name = form.name.unwrap_or_default();
    let now = Utc::now();
    let outcome = ctx.change(move |state, account| state.scenes.rename(&account, id, &name, now)).await;
    answer(&ctx, tab, outcome).await
}

/// `POST /console/scenes/{id}/delete`.
pub(crate) async fn delete(
    State(web): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<SceneForm>,
) -> Response {
    let ctx = match admit(&web, &headers, peer, &form, "DeleteScene") {
        Ok(ctx) => ctx,
        Err(stop) => return stop.into_response(),
    };
    let tab = tab_of(form.tab.as_deref());
    let Some(id) = scene_id(&id) else { return ctx.failure(StatusCode::NOT_FOUND, "no such scene") };
    let outcome = ctx.change(move |state, account| state.scenes.delete(&account, id)).await;
    answer(&ctx, tab, outcome).await
}

/// `POST /console/authorization` — authorize the service and photo storage.
pub(crate) async fn authorize(
    State(web): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<SceneForm>,
) -> Response {
    let ctx = match admit(&web, &headers, peer, &form, "CreateAuthorization") {
        Ok(ctx) => ctx,
        Err(stop) => return stop.into_response(),
    };
    let tab = tab_of(form.tab.as_deref());
    let outcome =
        ctx.change(move |state, account| Ok::<_, SceneError>(state.scenes.authorize(&account, true))).await;
    answer(&ctx, tab, outcome).await
}
