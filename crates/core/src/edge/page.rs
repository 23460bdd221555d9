//! Pages personalized at the edge (proxy mode): the page view a host runs through the pipeline
//! for an HTML request, and the cookies of the answer as `Set-Cookie` headers (the browser SDK
//! writes the same cookies the same way from `state:store`, so a page without JavaScript keeps its
//! visitor too).

use crate::codec::percent_encode;
use crate::protocol::{Handle, ResponseBody, StoreEntry};

/// The query and body of the interact request for a page view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageView {
    /// `configId=...` (no `requestId`: the edge makes one).
    pub query: String,
    /// The JSON body.
    pub body: Vec<u8>,
}

/// The page view of `url` (with its referrer), asking for the page's decisions (`__view__`),
/// through datastream `datastream`: what the SDK would send for the page, made by the host that
/// serves it.
#[must_use]
pub fn page_view(url: &str, referrer: Option<&str>, datastream: &str) -> PageView {
    let body = serde_json::json!({
        "events": [{
            "xdm": {
                "eventType": "web.webpagedetails.pageViews",
                "web": {
                    "webPageDetails": { "URL": url },
                    "webReferrer": { "URL": referrer.unwrap_or("") },
                },
                "implementationDetails": { "name": "https://edgecdp.dev/edge-pages", "environment": "server" },
            },
            "query": { "personalization": { "decisionScopes": ["__view__"] } },
        }],
        "query": { "identity": { "fetch": ["ECID"] } },
    });
    PageView {
        query: format!("configId={}", percent_encode(datastream)),
        body: serde_json::to_vec(&body).unwrap_or_default(),
    }
}

/// `Set-Cookie` values for the `state:store` entries of an interact response body (path `/`,
/// `SameSite=Lax`, as the SDK writes them). Keys that are not cookie names are skipped.
#[must_use]
pub fn set_cookies(body: &[u8]) -> Vec<String> {
    let Ok(body) = serde_json::from_slice::<ResponseBody>(body) else { return Vec::new() };
    body.handle
        .iter()
        .filter_map(|h| if let Handle::StateStore(entries) = h { Some(entries) } else { None })
        .flatten()
        .filter(|e| {
            !e.key.is_empty() && e.key.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+.^_`|~-".contains(&b))
        })
        .map(|StoreEntry { key, value, max_age }| {
            let value: String = value
                .chars()
                .map(|c| {
                    if c.is_ascii_graphic() && !matches!(c, '%' | ';' | ',' | '"' | '\\') {
                        c.to_string()
                    } else {
                        percent_encode(&c.to_string())
                    }
                })
                .collect();
            format!("{key}={value}; Path=/; Max-Age={max_age}; SameSite=Lax")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_view_asks_for_the_page_scope_and_cookies_come_back_as_headers() {
        let v = page_view("https://www.luma.test/?a=1", Some("https://mail.test/"), "ds luma");
        assert_eq!(v.query, "configId=ds%20luma");
        let body: serde_json::Value = serde_json::from_slice(&v.body).unwrap();
        assert_eq!(body["events"][0]["xdm"]["web"]["webPageDetails"]["URL"], "https://www.luma.test/?a=1");
        assert_eq!(body["events"][0]["query"]["personalization"]["decisionScopes"][0], "__view__");
        let response = br#"{"requestId":"r","handle":[{"type":"state:store","payload":[
            {"key":"kndctr_LUMA123_AdobeOrg_identity","value":"CiY1Mj+/=","maxAge":34128000},
            {"key":"bad;key","value":"x","maxAge":1},
            {"key":"kndctr_LUMA123_AdobeOrg_consent","value":"general=in; x","maxAge":15552000}]}]}"#;
        assert_eq!(
            set_cookies(response),
            [
                "kndctr_LUMA123_AdobeOrg_identity=CiY1Mj+/=; Path=/; Max-Age=34128000; SameSite=Lax",
                "kndctr_LUMA123_AdobeOrg_consent=general=in%3B%20x; Path=/; Max-Age=15552000; SameSite=Lax",
            ]
        );
        assert!(set_cookies(b"{").is_empty());
    }
}
