//! Storefront pages personalized by the native edge (proxy mode, `[pages] personalize = true`).
//!
//! An HTML page read from `site_dir` is a page view: it runs through the same pipeline as
//! `POST /ee/v1/interact` (the visitor's cookies, their profile and segments), the page-scope
//! offers' DOM actions are applied to the HTML before it leaves (marked, so sdk-js never applies
//! them again), the edge's answer is inlined in `<head>` for sdk-js (which then does not ask
//! again), and the identity cookies are set by the response itself, so a page without JavaScript
//! keeps its visitor. When anything fails the page is served as it is: personalization never
//! costs a visitor the page.

use std::path::{Component, Path, PathBuf};

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::uri::Authority;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use edgecdp_core::edge::HttpRequest;
use edgecdp_core::edge::page::{page_view, set_cookies};

use super::{AppState, header_str};

/// The file behind a page path, when it is an HTML page (`/`, `/dir/`, `/x.html`) inside `site`.
fn page_file(site: &Path, path: &str) -> Option<PathBuf> {
    let relative = path.strip_prefix('/')?;
    let relative = if relative.is_empty() || relative.ends_with('/') {
        format!("{relative}index.html")
    } else if Path::new(relative).extension().is_some_and(|e| e == "html") {
        relative.to_owned()
    } else {
        return None;
    };
    let rel = Path::new(&relative);
    // Only plain names: no `..`, no absolute parts, no escapes (ServeDir answers the rest).
    if relative.contains(['%', '\\']) || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    Some(site.join(rel))
}

/// Serves the page personalized, or `None` when the path is not an HTML page of the site (the
/// caller's static files answer it).
pub(super) async fn serve(app: &AppState, parts: &Parts, site: &Path, datastream: &str) -> Option<Response> {
    let file = page_file(site, parts.uri.path())?;
    let html = tokio::fs::read(&file).await.ok()?;
    // HTTP/2 names the host in the URI (`:authority`), HTTP/1.1 in `Host`.
    let host = parts
        .uri
        .authority()
        .map(Authority::as_str)
        .or_else(|| header_str(&parts.headers, header::HOST))
        .unwrap_or("localhost");
    let origin = format!("{}://{host}", app.scheme);
    let url = format!("{origin}{}", parts.uri.path_and_query().map_or("/", |p| p.as_str()));
    let view = page_view(&url, header_str(&parts.headers, header::REFERER), datastream);
    let cookie = super::cookie_header(&parts.headers);
    let request = HttpRequest {
        method: "POST",
        path: "/ee/v1/interact",
        query: &view.query,
        origin: Some(&origin),
        cookie: cookie.as_deref(),
        body: &view.body,
    };
    let answer = super::edge::run(app, &request).await;
    let personalized = edgecdp_rewrite::page::personalize(&html, answer.status, &answer.body)
        .inspect_err(|e| tracing::warn!(page = %parts.uri.path(), error = %e, "page served without personalization"))
        .ok();
    let cookies = if personalized.is_some() { set_cookies(&answer.body) } else { Vec::new() };
    let mut response = Response::new(Body::from(personalized.unwrap_or(html)));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    // The page is this visitor's: no shared cache may keep it.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    headers.insert(header::VARY, HeaderValue::from_static("Cookie"));
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(&c) {
            headers.append(header::SET_COOKIE, v);
        }
    }
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_html_pages_inside_the_site() {
        let site = Path::new("/srv/site");
        assert_eq!(page_file(site, "/"), Some(PathBuf::from("/srv/site/index.html")));
        assert_eq!(page_file(site, "/men.html"), Some(PathBuf::from("/srv/site/men.html")));
        assert_eq!(page_file(site, "/shop/"), Some(PathBuf::from("/srv/site/shop/index.html")));
        assert_eq!(page_file(site, "/assets/luma.js"), None);
        assert_eq!(page_file(site, "/../etc/x.html"), None);
        assert_eq!(page_file(site, "/a/../../x.html"), None);
        assert_eq!(page_file(site, "/%2e%2e/x.html"), None);
        assert_eq!(page_file(site, "//etc/x.html"), None);
    }
}
