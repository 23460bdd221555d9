//! The `style` attribute: checking declarations and merging them into what is there.
//!
//! Merging follows `element.style.setProperty(name, value)`: a property already set gets the new
//! value in place, a new one is added at the end, an empty value removes the property, and the
//! other declarations are kept as written.

use crate::report::UnsupportedReason;

/// Checks that `property: value` is one declaration, so a value cannot add others.
pub(crate) fn check(property: &str, value: &str) -> Result<(), UnsupportedReason> {
    let name = property.trim();
    if name.is_empty()
        || name.chars().all(|c| c == '-')
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(UnsupportedReason::StyleProperty { property: property.to_owned() });
    }
    let single =
        split_top_level(value).is_some_and(|declarations| declarations.len() == 1) && !has_top_level_brace(value);
    if !single {
        return Err(UnsupportedReason::StyleValue { property: property.to_owned(), value: value.to_owned() });
    }
    Ok(())
}

/// `existing` (the current `style` attribute) with `updates` applied in order. The updates must
/// have passed [`check`].
pub(crate) fn merge(existing: Option<&str>, updates: &[(String, String)]) -> String {
    let mut declarations: Vec<(String, String)> = existing
        .and_then(split_top_level)
        .unwrap_or_else(|| existing.map(|text| vec![text]).unwrap_or_default())
        .into_iter()
        .filter(|declaration| !declaration.trim().is_empty())
        .map(|declaration| match declaration.split_once(':') {
            Some((name, value)) => (name.trim().to_owned(), value.trim().to_owned()),
            // Not a declaration: kept as written, under a name no property has.
            None => (String::new(), declaration.trim().to_owned()),
        })
        .collect();
    for (property, value) in updates {
        let property = normalize(property.trim());
        let value = value.trim();
        let mut same =
            declarations.iter().enumerate().filter(|(_, (name, _))| same_property(name, &property)).map(|(i, _)| i);
        let first = same.next();
        let duplicates: Vec<usize> = same.collect();
        for index in duplicates.into_iter().rev() {
            declarations.remove(index);
        }
        match (first, value.is_empty()) {
            (Some(index), true) => {
                declarations.remove(index);
            }
            (Some(index), false) => {
                if let Some(declaration) = declarations.get_mut(index) {
                    *declaration = (property, value.to_owned());
                }
            }
            (None, true) => {}
            (None, false) => declarations.push((property, value.to_owned())),
        }
    }
    let mut out = String::new();
    for (name, value) in &declarations {
        if !out.is_empty() {
            out.push(' ');
        }
        if !name.is_empty() {
            out.push_str(name);
            out.push_str(": ");
        }
        out.push_str(value);
        out.push(';');
    }
    out
}

/// Property names are ASCII case-insensitive, except custom properties (`--name`).
fn normalize(property: &str) -> String {
    if property.starts_with("--") { property.to_owned() } else { property.to_ascii_lowercase() }
}

fn same_property(name: &str, property: &str) -> bool {
    !name.is_empty() && if property.starts_with("--") { name == property } else { name.eq_ignore_ascii_case(property) }
}

/// Splits at `;` outside quotes, brackets and escapes; `None` if a quote or bracket is left open.
fn split_top_level(text: &str) -> Option<Vec<&str>> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut depth = 0_usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (at, c) in text.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match (quote, c) {
            (_, '\\') => escaped = true,
            (Some(open), c) if c == open => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, '(' | '[') => depth += 1,
            (None, ')' | ']') => depth = depth.checked_sub(1)?,
            (None, ';') if depth == 0 => {
                parts.push(text.get(start..at)?);
                start = at + 1;
            }
            _ => {}
        }
    }
    if quote.is_some() || depth != 0 {
        return None;
    }
    let last = text.get(start..)?;
    if parts.is_empty() || !last.trim().is_empty() {
        parts.push(last);
    }
    Some(parts)
}

fn has_top_level_brace(text: &str) -> bool {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    text.chars().any(|c| {
        if escaped {
            escaped = false;
            return false;
        }
        match (quote, c) {
            (_, '\\') => escaped = true,
            (Some(open), c) if c == open => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, '{' | '}') => return true,
            _ => {}
        }
        false
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
    }

    #[test]
    fn merges_in_place_and_appends() {
        let merged = merge(
            Some("color: blue; MARGIN:0 ;font-family: 'a;b', serif"),
            &pairs(&[("margin", "4px"), ("display", "none")]),
        );
        assert_eq!(merged, "color: blue; margin: 4px; font-family: 'a;b', serif; display: none;");
    }

    #[test]
    fn empty_value_removes_and_duplicates_collapse() {
        let merged = merge(Some("color: red; color: blue; top: 0"), &pairs(&[("color", ""), ("top", "1px")]));
        assert_eq!(merged, "top: 1px;");
        assert_eq!(merge(None, &pairs(&[("color", "red !important")])), "color: red !important;");
        assert_eq!(merge(Some(""), &pairs(&[("--Brand", "#fff")])), "--Brand: #fff;");
        assert_eq!(merge(Some("--brand: 1"), &pairs(&[("--Brand", "2")])), "--brand: 1; --Brand: 2;");
    }

    #[test]
    fn broken_existing_style_is_kept() {
        assert_eq!(merge(Some("color: 'red"), &pairs(&[("top", "0")])), "color: 'red; top: 0;");
        assert_eq!(merge(Some("junk; color: red"), &pairs(&[("color", "blue")])), "junk; color: blue;");
    }

    #[test]
    fn checks_reject_what_would_escape_the_declaration() {
        assert!(check("background-image", "url(\"a;b.png\")").is_ok());
        assert!(check("--x_1", "calc(1px + 2px)").is_ok());
        assert!(check("color", "red; position: fixed").is_err());
        assert!(check("color", "red } body { color: blue").is_err());
        assert!(check("color", "'red").is_err());
        assert!(check("color", "rgb(1,2,3").is_err());
        assert!(check("col or", "red").is_err());
        assert!(check("--", "red").is_err());
        assert!(check("", "red").is_err());
    }
}
