//! URL → page, the assets, and the head feed the live script polls. Every page is built under
//! a deadline; a page over it answers with a clear error instead of hanging.

use crate::AppState;
use crate::pages::{self, PageError, PageResult};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use std::future::Future;
use std::sync::Arc;

const STYLE: &str = include_str!("../assets/style.css");
const LIVE: &str = include_str!("../assets/live.js");
const ICON: &str = include_str!("../assets/icon.svg");

/// Query parameters lists take: a cursor (`before`, `after`) and nothing else.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub before: Option<String>,
    pub after: Option<String>,
    pub q: Option<String>,
}

type St = State<Arc<AppState>>;

pub fn router(state: Arc<AppState>) -> Router {
    let base = state.base.clone();
    let routes = Router::new()
        .route("/", get(home))
        .route("/block/{id}", get(block))
        .route("/blocks", get(blocks))
        .route("/tx/{hash}", get(tx))
        .route("/address/{address}", get(address))
        .route("/idao/{id}", get(idao))
        .route("/class/{id}", get(class))
        .route("/token/{id}", get(token))
        .route("/flow/{id}", get(flow))
        .route("/model/{id}", get(model))
        .route("/task/{id}", get(task))
        .route("/search", get(search))
        .route("/api/head", get(head))
        .route(
            "/assets/style.css",
            get(|| asset(STYLE, "text/css; charset=utf-8")),
        )
        .route(
            "/assets/live.js",
            get(|| asset(LIVE, "text/javascript; charset=utf-8")),
        )
        .route("/assets/icon.svg", get(|| asset(ICON, "image/svg+xml")))
        .fallback(not_found)
        .with_state(state);
    if base.is_empty() {
        routes
    } else {
        let redirect_to = format!("{base}/");
        Router::new()
            .route(
                &base,
                get(move || async move { axum::response::Redirect::permanent(&redirect_to) }),
            )
            .nest(&format!("{base}/"), routes)
    }
}

async fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// Builds a page under the state's deadline.
async fn render<F>(state: Arc<AppState>, build: F) -> Response
where
    F: Future<Output = PageResult>,
{
    let deadline = state.page_timeout;
    let permit = match tokio::time::timeout(deadline / 2, state.pages.clone().acquire_owned()).await
    {
        Ok(Ok(permit)) => permit,
        _ => return pages::respond(&state, Err(PageError::Busy)),
    };
    let result = match tokio::time::timeout(deadline, build).await {
        Ok(result) => result,
        Err(_) => Err(PageError::Timeout(deadline.as_secs())),
    };
    drop(permit);
    if let Err(error) = &result {
        tracing::debug!(%error, "explorer page failed");
    }
    pages::respond(&state, result)
}

async fn home(State(s): St) -> Response {
    render(s.clone(), pages::home::page(&s)).await
}

async fn blocks(State(s): St, Query(q): Query<ListQuery>) -> Response {
    render(s.clone(), pages::block::list(&s, q.before.as_deref())).await
}

async fn block(State(s): St, Path(id): Path<String>) -> Response {
    render(s.clone(), pages::block::page(&s, &id)).await
}

async fn tx(State(s): St, Path(hash): Path<String>) -> Response {
    render(s.clone(), pages::tx::page(&s, &hash)).await
}

async fn address(State(s): St, Path(a): Path<String>, Query(q): Query<ListQuery>) -> Response {
    render(s.clone(), pages::address::page(&s, &a, q.before.as_deref())).await
}

async fn idao(State(s): St, Path(id): Path<String>) -> Response {
    render(s.clone(), pages::idao::page(&s, &id)).await
}

async fn class(State(s): St, Path(id): Path<String>, Query(q): Query<ListQuery>) -> Response {
    render(
        s.clone(),
        pages::dat::class_page(&s, &id, q.after.as_deref()),
    )
    .await
}

async fn token(State(s): St, Path(id): Path<String>) -> Response {
    render(s.clone(), pages::dat::token_page(&s, &id)).await
}

async fn flow(State(s): St, Path(id): Path<String>) -> Response {
    render(s.clone(), pages::flow::page(&s, &id)).await
}

async fn model(State(s): St, Path(id): Path<String>) -> Response {
    render(s.clone(), pages::model::page(&s, &id)).await
}

async fn task(State(s): St, Path(id): Path<String>) -> Response {
    render(s.clone(), pages::task::page(&s, &id)).await
}

async fn search(State(s): St, Query(q): Query<ListQuery>) -> Response {
    let text = q.q.unwrap_or_default();
    let found = tokio::time::timeout(s.page_timeout, pages::search::resolve(&s, &text)).await;
    match found {
        Ok(Ok(target)) => axum::response::Redirect::to(&target).into_response(),
        Ok(Err(error)) => pages::error_page(&s, &error),
        Err(_) => pages::error_page(&s, &PageError::Timeout(s.page_timeout.as_secs())),
    }
}

async fn head(State(s): St) -> Response {
    let feed = pages::home::head_feed(&s).await;
    ([(header::CACHE_CONTROL, "no-store")], axum::Json(feed)).into_response()
}

async fn not_found(State(s): St) -> Response {
    let mut r = pages::error_page(
        &s,
        &PageError::NotFound("no such page in the explorer".into()),
    );
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}
