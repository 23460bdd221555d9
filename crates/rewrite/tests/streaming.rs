//! Streaming and robustness: the output does not depend on how the page is cut into chunks,
//! malformed or hostile input never panics, and the limits end in their own errors.

use edgecdp_rewrite::{Action, Edit, EditResult, Limits, Plan, Report, RewriteError, Rewriter, UnsupportedReason};
use proptest::prelude::*;

const PAGE: &str = r#"<!doctype html><html><head><title>Luma</title><meta charset="utf-8"></head>
<body class="home"><header><ul class="nav"><li><a href="/men">Men</a></li><li><a href="/women">Women</a></li></ul></header>
<main id="main"><h1 class="title">Run further</h1><p class="lead" style="color: gray">Light layers.</p>
<ol class="products"><li class="p"><img src="/1.jpg"><span class="price">$29</span></li><li class="p"><img src="/2.jpg"><span class="price">$45</span></li><li class="p"><img src="/3.jpg" srcset="/3@2x.jpg 2x"><span class="price">$52</span></li></ol>
<!-- a comment with <h1> inside --><script>if (a < b && c > d) { document.title = "<h1>"; }</script>
<div id="recs"></div><p>Caf&eacute; · naïve · 日本</p></main><footer><a class="x" href="/privacy">Privacy</a></footer></body></html>"#;

fn edits() -> Vec<Edit> {
    vec![
        Edit::new("h1.title", Action::SetHtml("<span>For you</span>".into())).with_mark("1"),
        Edit::new(".lead", Action::SetStyle(vec![("color".into(), "#c00".into())])),
        Edit::new("ol.products > li:eq(2) .price", Action::SetText("$39 & free shipping".into())).with_mark("3"),
        Edit::new("ol.products li:eq(1) img", Action::SetImageSource("/2b.jpg".into())),
        Edit::new("#recs", Action::AppendHtml("<div class=rec>r</div>".into())).with_mark("5"),
        Edit::new(".nav li:eq(0)", Action::InsertAfter("<li><a href=/sale>Sale</a></li>".into())),
        Edit::new("footer .x", Action::Remove),
        Edit::new("p:hover", Action::Remove),
    ]
}

const HEAD: &str = r#"<script type="application/json" id="edgecdp-response">{"requestId":"r"}</script>"#;

/// The page written in the chunks `cuts` delimit: the output and the report (or the error that
/// left the output incomplete).
fn streamed(plan: &Plan, page: &[u8], cuts: &[usize]) -> (Vec<u8>, Result<Report, RewriteError>) {
    let mut out = Vec::new();
    let mut empty_chunks = 0;
    let mut rewriter = plan.rewriter(|chunk: &[u8]| {
        empty_chunks += usize::from(chunk.is_empty());
        out.extend_from_slice(chunk);
    });
    let mut start = 0;
    let mut bounds: Vec<usize> = cuts.iter().map(|&cut| cut.min(page.len())).collect();
    bounds.sort_unstable();
    bounds.push(page.len());
    let mut failed = None;
    for end in bounds {
        // A graceful stop is in the report too; only an incomplete output is an error here.
        if let Err(error) = rewriter.write(&page[start..end])
            && !error.page_is_whole()
        {
            failed.get_or_insert(error);
        }
        start = end;
    }
    let report = rewriter.end();
    assert_eq!(empty_chunks, 0, "the sink got an empty chunk");
    (out, failed.map_or(report, Err))
}

#[test]
fn the_page_rewrites_as_expected() {
    let (out, report) = Plan::new(&edits(), Some(HEAD)).rewrite(PAGE.as_bytes()).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains(r#"<h1 class="title" data-edgecdp-interact-id="1"><span>For you</span></h1>"#));
    assert!(out.contains(r#"<p class="lead" style="color: #c00;">"#));
    assert!(
        out.contains(r#"<span class="price" data-edgecdp-interact-id="3">$39 &amp; free shipping</span></li></ol>"#)
    );
    assert!(out.contains(r#"<img src="/2b.jpg"><span class="price">$45</span>"#));
    assert!(out.contains(r#"<div id="recs"><div class=rec data-edgecdp-interact-id="5">r</div></div>"#));
    assert!(out.contains(r#"<li><a href="/men">Men</a></li><li><a href=/sale>Sale</a></li><li>"#));
    assert!(out.contains("<footer></footer>"));
    assert!(out.contains(&format!("<meta charset=\"utf-8\">{HEAD}</head>")));
    assert!(out.contains(r#"document.title = "<h1>";"#) && out.contains("<p>Caf&eacute; · naïve · 日本</p>"));
    assert_eq!(report.applied(), 7);
    assert!(matches!(report.edits[7], EditResult::Unsupported { .. }));
}

#[test]
fn every_single_cut_gives_the_whole_page_output() {
    let plan = Plan::new(&edits(), Some(HEAD));
    let (whole, report) = plan.rewrite(PAGE.as_bytes()).unwrap();
    for cut in 0..=PAGE.len() {
        let (out, streamed_report) = streamed(&plan, PAGE.as_bytes(), &[cut]);
        assert_eq!(out, whole, "cut at byte {cut}");
        assert_eq!(streamed_report.as_ref(), Ok(&report), "cut at byte {cut}");
    }
}

#[test]
fn byte_at_a_time_gives_the_whole_page_output() {
    let plan = Plan::new(&edits(), Some(HEAD));
    let (whole, report) = plan.rewrite(PAGE.as_bytes()).unwrap();
    let cuts: Vec<usize> = (1..PAGE.len()).collect();
    let (out, streamed_report) = streamed(&plan, PAGE.as_bytes(), &cuts);
    assert_eq!((out, streamed_report), (whole, Ok(report)));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_chunking_gives_the_whole_page_output(cuts in prop::collection::vec(0..PAGE.len() + 1, 0..12)) {
        let plan = Plan::new(&edits(), Some(HEAD));
        let (whole, report) = plan.rewrite(PAGE.as_bytes()).unwrap();
        let (out, streamed_report) = streamed(&plan, PAGE.as_bytes(), &cuts);
        prop_assert_eq!(out, whole);
        prop_assert_eq!(streamed_report, Ok(report));
    }

    /// Markup soup from HTML's sharp edges: never a panic, and streamed equals whole.
    #[test]
    fn hostile_markup_never_panics(
        pieces in prop::collection::vec(prop::sample::select(SOUP), 0..40),
        cuts in prop::collection::vec(0..400_usize, 0..6),
    ) {
        let page: Vec<u8> = pieces.concat();
        let plan = Plan::new(&soup_edits(), Some("<i>head</i>"));
        // Whole pages may be rewritten twice (without edits on elements lacking an end tag).
        if let Err(error) = plan.rewrite(&page) {
            prop_assert!(matches!(error, RewriteError::AmbiguousMarkup { .. }), "{error}");
        }
        let one_chunk = streamed(&plan, &page, &[]);
        let chunked = streamed(&plan, &page, &cuts);
        // Where in the stream `lol_html` notices an ambiguity depends on the chunks.
        let ambiguous = |result: &Result<Report, RewriteError>| matches!(result, Err(RewriteError::AmbiguousMarkup { .. }));
        if !(ambiguous(&one_chunk.1) && ambiguous(&chunked.1)) {
            prop_assert_eq!(one_chunk, chunked);
        }
    }
}

const SOUP: &[&[u8]] = &[
    b"<div>",
    b"</div>",
    b"<p class=a>",
    b"</p>",
    b"<li>",
    b"</ul>",
    b"<ul>",
    b"<img src=x>",
    b"<br/>",
    b"<span",
    b" id=\"s\"",
    b">",
    b"'",
    b"\"",
    b"=",
    b"<!--",
    b"-->",
    b"<script>",
    b"</script>",
    b"<style>",
    b"</style>",
    b"<textarea>",
    b"<svg>",
    b"<path/>",
    b"</svg>",
    b"<table><tr><td>",
    b"</td>",
    b"<template>",
    b"</template>",
    b"<select>",
    b"<option>",
    b"</select>",
    b"&amp;",
    b"&",
    b"<![CDATA[",
    b"]]>",
    b"<!doctype html>",
    b"<head>",
    b"</head>",
    b"<body>",
    b"text",
    b"\xff\xfe",
    b"\xe6\x97",
    b"<",
    b"</",
    b"/>",
    b"<a href=",
    b"</a>",
    b"<h1>",
    b"</h1>",
    b"\0",
    b"<plaintext>",
    b"<frameset>",
    b"<math>",
    b"</math>",
];

fn soup_edits() -> Vec<Edit> {
    vec![
        Edit::new("div", Action::SetHtml("<b>d</b>".into())).with_mark("1"),
        Edit::new("p.a", Action::Remove),
        Edit::new("li:eq(1)", Action::ReplaceHtml("<li>r</li>".into())).with_mark("2"),
        Edit::new("#s", Action::SetStyle(vec![("color".into(), "red".into())])),
        Edit::new("div:eq(0) > p", Action::InsertAfter("<hr>".into())),
        Edit::new("h1", Action::AppendHtml("!".into())),
        Edit::new("img", Action::SetImageSource("/y.png".into())),
        Edit::new("td", Action::SetText("<t>".into())),
    ]
}

#[test]
fn malformed_markup_is_rewritten_without_panicking() {
    let cases: &[(&str, &str)] = &[
        (
            "<div class=a><p>unclosed <b>bold <i>both</b> end</div>",
            "<div class=a data-x=\"1\"><p>unclosed <b>bold <i>both</b> end</div>",
        ),
        ("</div></span><div class=a>x", "</div></span><div class=a data-x=\"1\">x"),
        ("<div class=a <p>>x</div>", "<div class=a <p data-x=\"1\">>x</div>"),
        ("<div class='a>x</div>", "<div class='a>x</div>"),
        ("<div\nclass\n=\na\n>x</div >", "<div class\n=\na data-x=\"1\">x</div >"),
        ("<DIV CLASS=a>x</DIV>", "<DIV CLASS=a data-x=\"1\">x</DIV>"),
        ("<div class=a", "<div class=a"),
        ("<div class=a>x<!-- never closed", "<div class=a data-x=\"1\">x<!-- never closed"),
        ("", ""),
    ];
    let plan = Plan::new(&[Edit::new(".a", Action::SetAttribute(vec![("data-x".into(), "1".into())]))], None);
    for (html, expected) in cases {
        let (out, _) = plan.rewrite(html.as_bytes()).unwrap();
        assert_eq!(String::from_utf8_lossy(&out), *expected, "{html:?}");
    }
}

#[test]
fn bytes_that_are_not_utf8_pass_through() {
    let page = b"<p id=a title=\"\xff\xfe\">caf\xe9</p><div id=b>\xc3</div>";
    let edits = [
        Edit::new("#a", Action::SetAttribute(vec![("data-x".into(), "é".into())])),
        Edit::new("#b", Action::InsertAfter("<i>ü</i>".into())),
    ];
    let (out, report) = edgecdp_rewrite::rewrite(page, &edits, None).unwrap();
    assert_eq!(
        out,
        b"<p id=a title=\"\xff\xfe\" data-x=\"\xc3\xa9\">caf\xe9</p><div id=b>\xc3</div><i>\xc3\xbc</i>".to_vec()
    );
    assert_eq!(report.applied(), 2);
}

#[test]
fn ambiguous_markup_is_refused() {
    let page = b"<select><style>x</style></select><p id=a>x</p>";
    let edits = [Edit::new("#a", Action::Remove)];
    assert!(matches!(edgecdp_rewrite::rewrite(page, &edits, None), Err(RewriteError::AmbiguousMarkup { .. })));
    let mut rewriter = Rewriter::new(&edits, None, |_: &[u8]| {});
    let first = rewriter.write(page);
    assert!(matches!(first, Err(RewriteError::AmbiguousMarkup { .. })), "{first:?}");
    assert!(matches!(rewriter.write(b"more"), Err(RewriteError::Stopped(_))));
    assert!(matches!(rewriter.end(), Err(RewriteError::AmbiguousMarkup { .. })));
}

#[test]
fn memory_limit_stops_rewriting_but_keeps_the_page_whole() {
    let limits = Limits { max_memory_bytes: 8 * 1024, ..Limits::new() };
    let mut page = b"<head></head><h1>a</h1>".to_vec();
    page.extend(b"<div>".repeat(2000));
    page.extend(b"<h1>b</h1>");
    page.extend(b"</div>".repeat(2000));
    let plan = Plan::with_limits(&[Edit::new("h1", Action::SetText("x".into()))], Some("<i>h</i>"), limits);
    assert_eq!(plan.rewrite(&page), Err(RewriteError::MemoryLimit { limit: 8 * 1024 }));

    let mut out = Vec::new();
    let mut rewriter = plan.rewriter(|chunk: &[u8]| out.extend_from_slice(chunk));
    let mut errors = Vec::new();
    for chunk in page.chunks(1000) {
        if let Err(error) = rewriter.write(chunk) {
            errors.push(error);
        }
    }
    let report = rewriter.end().unwrap();
    assert_eq!(errors, [RewriteError::MemoryLimit { limit: 8 * 1024 }]);
    assert!(errors[0].page_is_whole());
    // Rewritten up to where it stopped, unchanged after: the first h1 changed, the second not.
    let mut expected = b"<head><i>h</i></head><h1>x</h1>".to_vec();
    expected.extend_from_slice(&page[b"<head></head><h1>a</h1>".len()..]);
    assert_eq!(out, expected);
    assert_eq!(report.edits, [EditResult::Applied { elements: 1 }]);
    assert!(!report.complete());
}

#[test]
fn a_tag_longer_than_the_memory_limit_passes_through() {
    let limits = Limits { max_memory_bytes: 4 * 1024, ..Limits::new() };
    let page = format!("<p class=a>x</p><div title=\"{}\">y</div><p class=a>z</p>", "t".repeat(20_000));
    let plan = Plan::with_limits(&[Edit::new(".a", Action::SetText("w".into()))], None, limits);
    let (out, report) = streamed(&plan, page.as_bytes(), &(1..40).map(|i| i * 512).collect::<Vec<_>>());
    let report = report.unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), page.replacen(">x<", ">w<", 1));
    assert_eq!(report.stopped, Some(RewriteError::MemoryLimit { limit: 4 * 1024 }));
}

#[test]
fn size_limits_are_errors() {
    let limits = Limits { max_page_bytes: 100, max_output_bytes: 200, ..Limits::new() };
    let big = "<p>x</p>".repeat(20);
    let plan = Plan::with_limits(&[], None, limits);
    assert_eq!(plan.rewrite(big.as_bytes()), Err(RewriteError::PageTooLarge { bytes: 160, limit: 100 }));
    let plan = Plan::with_limits(&[Edit::new("p", Action::AppendHtml("0123456789".into()))], None, limits);
    assert_eq!(plan.rewrite(&big.as_bytes()[..96]), Err(RewriteError::OutputTooLarge { limit: 200 }));
    assert!(plan.rewrite(&big.as_bytes()[..40]).is_ok());
}

#[test]
fn edits_past_the_limit_are_left_to_the_browser() {
    let limits = Limits { max_edits: 2, ..Limits::new() };
    let edits: Vec<Edit> = (0..4).map(|i| Edit::new("p", Action::SetText(i.to_string()))).collect();
    let (out, report) = Plan::with_limits(&edits, None, limits).rewrite(b"<p>x</p>").unwrap();
    assert_eq!(out, b"<p>1</p>");
    assert_eq!(report.edits[2], EditResult::Unsupported { reason: UnsupportedReason::TooManyEdits { limit: 2 } });
}

#[test]
fn a_rewriter_is_send_when_its_sink_is() {
    fn assert_send<T: Send>(_: &T) {}
    let rewriter = Rewriter::new(&edits(), None, |_: &[u8]| {});
    assert_send(&rewriter);
    assert_send(&Plan::new(&edits(), None));
}
