//! Pages personalized by the edge: from the edge's answer to a page view (an Adobe-format
//! interact response body) to the edits for the page's HTML and the response to inline in it.
//!
//! Page-scope propositions (`__view__`, or a `web://` surface without `#`, as browser SDKs
//! decide) with DOM actions become edits marked with the proposition's id, so the browser SDK
//! recognizes what the edge rendered and never applies it twice. Everything else (named scopes,
//! views, JSON) is left to the SDK, which reads the inlined response instead of asking the edge
//! again.

use serde_json::Value;

use crate::{Action, Edit};

/// The id of the `<script type="application/json">` element holding the edge's answer.
pub const INLINE_ID: &str = "edgecdp-response";

/// What to do to a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagePlan {
    /// The edits, in the order of the propositions and their items.
    pub edits: Vec<Edit>,
    /// The `<script>` element to put at the end of `<head>`.
    pub inline: String,
}

/// Why a page is served as it is.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The edge did not answer the page view with a 200.
    #[error("the edge answered the page view with status {0}")]
    NotAnswered(u16),
    /// The answer is not JSON.
    #[error("the edge's answer is not JSON: {0}")]
    Answer(#[from] serde_json::Error),
    /// The page could not be rewritten.
    #[error(transparent)]
    Rewrite(#[from] crate::RewriteError),
}

/// The page personalized with the edge's answer to its page view (`status` and `body` of the
/// interact response): the page-scope DOM actions applied and marked, the answer inlined. Both
/// hosts serve the page unchanged on an error.
///
/// # Errors
/// [`PageError`].
pub fn personalize(html: &[u8], status: u16, body: &[u8]) -> Result<Vec<u8>, PageError> {
    if status != 200 {
        return Err(PageError::NotAnswered(status));
    }
    let plan = plan(body)?;
    Ok(crate::rewrite(html, &plan.edits, Some(&plan.inline))?.0)
}

/// Reads an interact response body.
///
/// # Errors
/// When the body is not JSON (the host then serves the page as it is).
pub fn plan(response_body: &[u8]) -> Result<PagePlan, serde_json::Error> {
    let body: Value = serde_json::from_slice(response_body)?;
    let mut edits = Vec::new();
    let handles = body.get("handle").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    for handle in handles.iter().filter(|h| h.get("type").and_then(Value::as_str) == Some("personalization:decisions"))
    {
        for p in handle.get("payload").and_then(Value::as_array).map_or(&[][..], Vec::as_slice) {
            let scope = p.get("scope").and_then(Value::as_str).unwrap_or("");
            let page_scope = scope == "__view__" || (scope.starts_with("web://") && !scope.contains('#'));
            let Some(id) = p.get("id").and_then(Value::as_str).filter(|_| page_scope) else { continue };
            for item in p.get("items").and_then(Value::as_array).map_or(&[][..], Vec::as_slice) {
                if let Some(edit) = edit(item) {
                    edits.push(edit.with_mark(id));
                }
            }
        }
    }
    // `</` would end the script element early; JSON allows `\/` for `/`.
    let text = String::from_utf8_lossy(response_body).replace("</", "<\\/");
    let inline = format!("<script type=\"application/json\" id=\"{INLINE_ID}\">{text}</script>");
    Ok(PagePlan { edits, inline })
}

/// The edit for an item the edge can render: a `dom-action` or an `html-content-item` with a
/// type and a selector; `None` for the rest (`click`, JSON, default content, unknown types).
fn edit(item: &Value) -> Option<Edit> {
    let schema = item.get("schema").and_then(Value::as_str)?;
    if !schema.ends_with("/dom-action") && !schema.ends_with("/html-content-item") {
        return None;
    }
    let data = item.get("data")?;
    let selector = data.get("selector").and_then(Value::as_str)?;
    let kind = data.get("type").and_then(Value::as_str)?;
    let content = data.get("content");
    let text = || content.and_then(Value::as_str).map(str::to_owned);
    let pairs = || {
        content
            .and_then(Value::as_object)
            .map(|o| o.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned()))).collect::<Vec<_>>())
    };
    let action = match kind {
        "setHtml" => Action::SetHtml(text()?),
        "setText" => Action::SetText(text()?),
        "replaceHtml" => Action::ReplaceHtml(text()?),
        "appendHtml" => Action::AppendHtml(text()?),
        "prependHtml" => Action::PrependHtml(text()?),
        "insertBefore" => Action::InsertBefore(text()?),
        "insertAfter" => Action::InsertAfter(text()?),
        "remove" => Action::Remove,
        "setAttribute" => Action::SetAttribute(pairs()?),
        "setStyle" => Action::SetStyle(pairs()?),
        "setImageSource" => Action::SetImageSource(text()?),
        _ => return None,
    };
    Some(Edit::new(selector, action))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_scope_dom_actions_become_marked_edits_and_the_body_is_inlined_safely() {
        let body = br##"{"requestId":"r","handle":[
            {"type":"identity:result","payload":[]},
            {"type":"personalization:decisions","payload":[
              {"id":"p1","scope":"__view__","scopeDetails":{},"items":[
                {"id":"o#0","schema":"https://ns.adobe.com/personalization/dom-action","data":{"type":"setHtml","selector":"#greeting .wrap","content":"<b>Hi</b></script>"}},
                {"id":"o#1","schema":"https://ns.adobe.com/personalization/dom-action","data":{"type":"setStyle","selector":".card","content":{"order":"-1"}}},
                {"id":"o#2","schema":"https://ns.adobe.com/personalization/dom-action","data":{"type":"click","selector":"#cta"}}]},
              {"id":"p2","scope":"hero-banner","scopeDetails":{},"items":[
                {"id":"b#0","schema":"https://ns.adobe.com/personalization/html-content-item","data":{"content":"<i>x</i>"}}]},
              {"id":"p3","scope":"cart","scopeDetails":{"characteristics":{"scopeType":"view"}},"items":[
                {"id":"c#0","schema":"https://ns.adobe.com/personalization/dom-action","data":{"type":"setText","selector":"#c","content":"c"}}]}
            ]}]}"##;
        let plan = plan(body).unwrap();
        assert_eq!(
            plan.edits,
            [
                Edit::new("#greeting .wrap", Action::SetHtml("<b>Hi</b></script>".into())).with_mark("p1"),
                Edit::new(".card", Action::SetStyle(vec![("order".into(), "-1".into())])).with_mark("p1"),
            ]
        );
        assert!(plan.inline.starts_with("<script type=\"application/json\" id=\"edgecdp-response\">{"));
        assert_eq!(plan.inline.matches("</script>").count(), 1, "{}", plan.inline);
        let inner = &plan.inline[plan.inline.find('>').unwrap() + 1..plan.inline.len() - "</script>".len()];
        let parsed: Value = serde_json::from_str(inner).unwrap();
        assert_eq!(parsed["handle"][1]["payload"][0]["items"][0]["data"]["content"], "<b>Hi</b></script>");
        assert!(super::plan(b"not json").is_err());
        let page = b"<html><head></head><body><div id=\"greeting\"><p class=\"wrap\">Hi</p></div></body></html>";
        let out = String::from_utf8(personalize(page, 200, body).unwrap()).unwrap();
        assert!(out.contains(r#"<p class="wrap" data-edgecdp-interact-id="p1"><b>Hi</b></script></p>"#), "{out}");
        assert!(out.contains("id=\"edgecdp-response\""));
        assert!(matches!(personalize(page, 503, body), Err(PageError::NotAnswered(503))));
        assert!(matches!(personalize(page, 200, b"{"), Err(PageError::Answer(_))));
    }
}
