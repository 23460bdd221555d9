//! Attribute text and inserted HTML.
//!
//! `lol_html` reads and writes attribute values as they stand in the markup (entities not decoded;
//! it only escapes `"` on write), so values from edits are escaped here and the `style` attribute
//! is decoded before merging.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use lol_html::html_content::EndTag;
use lol_html::send::{Element, ElementContentHandlers, HtmlRewriter, Settings};
use lol_html::{HandlerResult, MemorySettings, Selector};

use crate::edit::MARK_ATTRIBUTE;
use crate::limits::Limits;
use crate::report::UnsupportedReason;

/// `value` as attribute text: `&` becomes `&amp;` (`lol_html` escapes `"` itself).
pub(crate) fn escape_attribute(value: &str) -> Cow<'_, str> {
    if value.contains('&') { Cow::Owned(value.replace('&', "&amp;")) } else { Cow::Borrowed(value) }
}

/// Attribute text as a browser reads it, for the references a `style` attribute holds in
/// practice: numeric ones and `&amp;`, `&quot;`, `&apos;`, `&lt;`, `&gt;`. Other named references
/// are kept as written.
pub(crate) fn unescape_attribute(raw: &str) -> Cow<'_, str> {
    if !raw.contains('&') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('&') {
        out.push_str(rest.get(..at).unwrap_or_default());
        let reference = rest.get(at..).unwrap_or_default();
        if let Some((c, len)) = decode_reference(reference) {
            out.push(c);
            rest = reference.get(len..).unwrap_or_default();
        } else {
            out.push('&');
            rest = reference.get(1..).unwrap_or_default();
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// The character `reference` (starting with `&`, ending with `;`) stands for, and its length.
fn decode_reference(reference: &str) -> Option<(char, usize)> {
    let end = reference.char_indices().take(34).find_map(|(at, c)| (c == ';').then_some(at))?;
    let body = reference.get(1..end)?;
    let c = match body {
        "amp" => '&',
        "quot" => '"',
        "apos" => '\'',
        "lt" => '<',
        "gt" => '>',
        _ => {
            let number = body.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse::<u32>().ok()?,
            };
            char::from_u32(code).filter(|&c| c != '\0').unwrap_or(char::REPLACEMENT_CHARACTER)
        }
    };
    Some((c, end + 1))
}

/// Checks `name` as an attribute name (what `Element.setAttribute` accepts, roughly).
pub(crate) fn check_attribute_name(name: &str) -> Result<(), UnsupportedReason> {
    let forbidden = |c: char| c.is_whitespace() || c.is_control() || matches!(c, '"' | '\'' | '<' | '>' | '/' | '=');
    if name.is_empty() || name.chars().any(forbidden) {
        return Err(UnsupportedReason::AttributeName { name: name.to_owned() });
    }
    Ok(())
}

/// `html` with [`MARK_ATTRIBUTE`]`="<mark>"` on each top-level element, as the Adobe Web SDK marks
/// the elements it inserts.
pub(crate) fn mark_top_level(
    html: &str,
    mark: &str,
    limits: &Limits,
    action: &'static str,
) -> Result<Arc<str>, UnsupportedReason> {
    let failed = |detail: String| UnsupportedReason::MarkedContent { action, detail };
    let every_element: Selector =
        "*".parse().map_err(|error: lol_html::errors::SelectorError| failed(error.to_string()))?;
    let mark = escape_attribute(mark).into_owned();
    // Open elements, counted by lol_html's own idea of where each ends (the same one its selectors
    // use), so "top level" is what matching inside the page would see.
    let depth = Arc::new(AtomicUsize::new(0));
    let handler = move |el: &mut Element<'_, '_>| -> HandlerResult {
        if depth.load(Ordering::Relaxed) == 0 {
            // The name is a valid constant: this cannot fail.
            let _ = el.set_attribute(MARK_ATTRIBUTE, &mark);
        }
        if let Some(handlers) = el.end_tag_handlers() {
            depth.fetch_add(1, Ordering::Relaxed);
            let depth = Arc::clone(&depth);
            handlers.push(Box::new(move |_: &mut EndTag<'_>| -> HandlerResult {
                depth.fetch_sub(1, Ordering::Relaxed);
                Ok(())
            }));
        }
        Ok(())
    };
    let settings = Settings::new_send().with_memory_settings(memory_settings(limits)).append_element_content_handler((
        Cow::Borrowed(&every_element),
        ElementContentHandlers::default().element(handler),
    ));
    let mut out = Vec::with_capacity(html.len() + 64);
    let mut rewriter = HtmlRewriter::new(settings, |chunk: &[u8]| out.extend_from_slice(chunk));
    rewriter.write(html.as_bytes()).map_err(|error| failed(error.to_string()))?;
    rewriter.end().map_err(|error| failed(error.to_string()))?;
    String::from_utf8(out).map(Arc::from).map_err(|error| failed(error.to_string()))
}

/// `lol_html`'s memory settings for `limits`. The parsing buffer it preallocates counts towards
/// the limit, so it is kept well below.
pub(crate) fn memory_settings(limits: &Limits) -> MemorySettings {
    MemorySettings::new()
        .with_preallocated_parsing_buffer_size(limits.max_memory_bytes.min(4096) / 4)
        .with_max_allowed_memory_usage(limits.max_memory_bytes)
        .with_graceful_bail_out_on_memory_limit_exceeded(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_text_round_trips() {
        assert_eq!(escape_attribute("a=1&b=2"), "a=1&amp;b=2");
        assert_eq!(escape_attribute("plain"), "plain");
        assert_eq!(
            unescape_attribute("font-family: &quot;A&amp;B&quot;; x: &#39;&#x41;&#0;"),
            "font-family: \"A&B\"; x: 'A\u{FFFD}"
        );
        assert_eq!(unescape_attribute("a &nbsp; b & c &#xZZ;"), "a &nbsp; b & c &#xZZ;");
        assert_eq!(unescape_attribute("&"), "&");
    }

    #[test]
    fn attribute_names_are_checked() {
        assert!(check_attribute_name("data-x").is_ok());
        assert!(check_attribute_name("aria-label").is_ok());
        for bad in ["", "a b", "a\"", "a=b", "a/b", "a>", "a\u{0}"] {
            assert!(check_attribute_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn marks_top_level_elements_only() {
        let marked =
            mark_top_level("text <p class=a>x <b>y</b></p><img src=i.png><div></div>", "m\"1&", &Limits::new(), "test");
        assert_eq!(
            marked.as_deref(),
            Ok(
                "text <p class=a data-edgecdp-interact-id=\"m&quot;1&amp;\">x <b>y</b></p><img src=i.png data-edgecdp-interact-id=\"m&quot;1&amp;\"><div data-edgecdp-interact-id=\"m&quot;1&amp;\"></div>"
            )
        );
    }
}
