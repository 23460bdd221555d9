//! Whole-page rewrites through the public API: every action, marks, `:eq(n)`, the head
//! injection, invalid selectors, and edits that overlap.

use edgecdp_rewrite::{Action, Edit, EditResult, InjectedAt, Plan, Report, UnsupportedReason, rewrite};

fn run(html: &str, edits: &[Edit]) -> (String, Report) {
    match rewrite(html.as_bytes(), edits, None) {
        Ok((out, report)) => (String::from_utf8(out).unwrap(), report),
        Err(error) => panic!("rewrite failed: {error}"),
    }
}

/// One edit on `html`: the page and the edit's result.
fn one(html: &str, selector: &str, action: Action) -> (String, EditResult) {
    let (out, report) = run(html, &[Edit::new(selector, action)]);
    (out, report.edits.into_iter().next().unwrap())
}

fn applied(elements: usize) -> EditResult {
    EditResult::Applied { elements }
}

fn attrs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
}

const CARD: &str = r#"<div class="card" id="c"><h2>Old</h2><p>text</p></div>"#;

#[test]
fn set_html_replaces_the_content() {
    let (out, result) = one(CARD, "#c", Action::SetHtml("<b>New</b> & more".into()));
    assert_eq!(out, r#"<div class="card" id="c"><b>New</b> & more</div>"#);
    assert_eq!(result, applied(1));
}

#[test]
fn set_text_escapes() {
    let (out, result) = one(CARD, "#c h2", Action::SetText("<b>Fish & chips</b>".into()));
    assert_eq!(out, r#"<div class="card" id="c"><h2>&lt;b&gt;Fish &amp; chips&lt;/b&gt;</h2><p>text</p></div>"#);
    assert_eq!(result, applied(1));
}

#[test]
fn replace_html_replaces_the_element() {
    let (out, result) = one(CARD, "#c p", Action::ReplaceHtml("<ul><li>a</li></ul>".into()));
    assert_eq!(out, r#"<div class="card" id="c"><h2>Old</h2><ul><li>a</li></ul></div>"#);
    assert_eq!(result, applied(1));
}

#[test]
fn append_and_prepend_html() {
    let (out, _) = one(CARD, ".card", Action::AppendHtml("<i>end</i>".into()));
    assert_eq!(out, r#"<div class="card" id="c"><h2>Old</h2><p>text</p><i>end</i></div>"#);
    let (out, _) = one(CARD, ".card", Action::PrependHtml("<i>start</i>".into()));
    assert_eq!(out, r#"<div class="card" id="c"><i>start</i><h2>Old</h2><p>text</p></div>"#);
}

#[test]
fn insert_before_and_after() {
    let (out, _) = one(CARD, "h2", Action::InsertBefore("<hr>".into()));
    assert_eq!(out, r#"<div class="card" id="c"><hr><h2>Old</h2><p>text</p></div>"#);
    let (out, _) = one(CARD, "h2", Action::InsertAfter("<hr>".into()));
    assert_eq!(out, r#"<div class="card" id="c"><h2>Old</h2><hr><p>text</p></div>"#);
}

#[test]
fn remove_drops_element_and_content() {
    let (out, result) = one(CARD, "h2", Action::Remove);
    assert_eq!(out, r#"<div class="card" id="c"><p>text</p></div>"#);
    assert_eq!(result, applied(1));
}

#[test]
fn set_attribute_sets_and_escapes() {
    let (out, result) = one(
        r#"<a href="/old" class=x>Go</a>"#,
        "a",
        Action::SetAttribute(attrs(&[("href", "/new?a=1&b=\"2\""), ("data-offer", "7")])),
    );
    assert_eq!(out, r#"<a href="/new?a=1&amp;b=&quot;2&quot;" class=x data-offer="7">Go</a>"#);
    assert_eq!(result, applied(1));
}

#[test]
fn set_style_merges_into_the_style_attribute() {
    let (out, _) = one(
        r#"<p style="color: blue; font-family: &quot;Open Sans&quot;; margin:0">x</p><p>y</p>"#,
        "p",
        Action::SetStyle(attrs(&[("margin", "4px"), ("display", "block !important")])),
    );
    assert_eq!(
        out,
        r#"<p style="color: blue; font-family: &quot;Open Sans&quot;; margin: 4px; display: block !important;">x</p><p style="margin: 4px; display: block !important;">y</p>"#
    );
}

#[test]
fn set_image_source_only_touches_images() {
    let html = r#"<img src="a.jpg" srcset="a@2x.jpg 2x" alt=""><div class="img">x</div>"#;
    let (out, result) = one(html, "img, .img", Action::SetImageSource("/b.jpg?w=2&h=3".into()));
    assert_eq!(out, r#"<img src="/b.jpg?w=2&amp;h=3" alt=""><div class="img">x</div>"#);
    assert_eq!(result, applied(1));
    let (_, result) = one(html, ".img", Action::SetImageSource("/b.jpg".into()));
    assert_eq!(result, EditResult::NoMatch);
}

#[test]
fn content_actions_skip_void_elements() {
    let (out, result) = one("<br><hr>", "br", Action::SetHtml("x".into()));
    assert_eq!((out.as_str(), result), ("<br><hr>", EditResult::NoMatch));
    let (out, result) = one("<br>", "br", Action::InsertAfter("<i>x</i>".into()));
    assert_eq!((out.as_str(), result), ("<br><i>x</i>", applied(1)));
}

#[test]
fn every_match_is_changed_and_counted() {
    let (out, result) = one("<ul><li>a</li><li>b</li><li>c</li></ul>", "li", Action::SetText("z".into()));
    assert_eq!(out, "<ul><li>z</li><li>z</li><li>z</li></ul>");
    assert_eq!(result, applied(3));
    let (_, result) = one(CARD, "table", Action::Remove);
    assert_eq!(result, EditResult::NoMatch);
}

#[test]
fn marks_go_where_the_browser_sdk_decorates() {
    let html = r#"<div id="a">x</div><div id="b">y</div>"#;
    let (out, _) = run(html, &[Edit::new("#a", Action::SetHtml("<i>1</i>".into())).with_mark("m1")]);
    assert_eq!(out, r#"<div id="a" data-edgecdp-interact-id="m1"><i>1</i></div><div id="b">y</div>"#);
    let (out, _) =
        run(html, &[Edit::new("#a", Action::InsertAfter("text <p>1<b>2</b></p><img src=x>".into())).with_mark("m2")]);
    assert_eq!(
        out,
        r#"<div id="a">x</div>text <p data-edgecdp-interact-id="m2">1<b>2</b></p><img src=x data-edgecdp-interact-id="m2"><div id="b">y</div>"#
    );
    let (out, _) = run(html, &[Edit::new("#b", Action::AppendHtml("<span>!</span>".into())).with_mark("m3")]);
    assert_eq!(out, r#"<div id="a">x</div><div id="b">y<span data-edgecdp-interact-id="m3">!</span></div>"#);
    let (out, _) = run(html, &[Edit::new("#b", Action::ReplaceHtml("<section>s</section>".into())).with_mark("m4")]);
    assert_eq!(out, r#"<div id="a">x</div><section data-edgecdp-interact-id="m4">s</section>"#);
    let (out, _) = run(html, &[Edit::new("#b", Action::Remove).with_mark("m5")]);
    assert_eq!(out, r#"<div id="a">x</div>"#);
    let (out, _) = run(html, &[Edit::new("#a", Action::SetStyle(attrs(&[("color", "red")]))).with_mark(r#"a"b&c"#)]);
    assert_eq!(
        out,
        r#"<div id="a" style="color: red;" data-edgecdp-interact-id="a&quot;b&amp;c">x</div><div id="b">y</div>"#
    );
}

#[test]
fn head_injection_goes_to_the_end_of_head() {
    let inject = r#"<script type="application/json" id="edgecdp-response">{"handle":[]}</script>"#;
    let cases = [
        (
            "<html><head><title>t</title></head><body>x</body></html>",
            format!("<html><head><title>t</title>{inject}</head><body>x</body></html>"),
            InjectedAt::EndOfHead,
        ),
        (
            "<html><head><title>t</title><body>x</body></html>",
            format!("<html><head><title>t</title>{inject}<body>x</body></html>"),
            InjectedAt::BeforeBody,
        ),
        ("<body>x</body>", format!("{inject}<body>x</body>"), InjectedAt::BeforeBody),
        ("<title>t</title><p>x", format!("<title>t</title><p>x{inject}"), InjectedAt::EndOfDocument),
    ];
    for (html, expected, at) in cases {
        let (out, report) = rewrite(html.as_bytes(), &[], Some(inject)).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), expected);
        assert_eq!(report.head, Some(at));
    }
    let (out, report) = rewrite(b"<head></head><head></head><body></body>", &[], Some("<i>1</i>")).unwrap();
    assert_eq!(out, b"<head><i>1</i></head><head></head><body></body>");
    assert_eq!(report.head, Some(InjectedAt::EndOfHead));
    let (out, report) = rewrite(b"<head></head>", &[], None).unwrap();
    assert_eq!((out.as_slice(), report.head), (&b"<head></head>"[..], None));
}

#[test]
fn eq_picks_the_nth_match_in_document_order() {
    let html = "<ul><li>a</li><li>b</li></ul><ul><li>c</li></ul>";
    let (out, result) = one(html, "ul li:eq(2)", Action::SetText("x".into()));
    assert_eq!(out, "<ul><li>a</li><li>b</li></ul><ul><li>x</li></ul>");
    assert_eq!(result, applied(1));
    let (_, result) = one(html, "li:eq(3)", Action::SetText("x".into()));
    assert_eq!(result, EditResult::NoMatch);
}

#[test]
fn eq_scopes_what_follows_to_the_chosen_element() {
    let html = r#"<ul id="l"><li><a>1</a></li><li><a>2</a><p><a>3</a></p></li><li><a>4</a></li></ul><a>5</a>"#;
    let (out, result) = one(html, "#l li:eq(1) a", Action::SetText("x".into()));
    assert_eq!(out, r#"<ul id="l"><li><a>1</a></li><li><a>x</a><p><a>x</a></p></li><li><a>4</a></li></ul><a>5</a>"#);
    assert_eq!(result, applied(2));
    // A `>` keeps its meaning: children of the chosen element only.
    let (out, result) = one(html, "#l li:eq(1) > a", Action::SetText("x".into()));
    assert_eq!(out, r#"<ul id="l"><li><a>1</a></li><li><a>x</a><p><a>3</a></p></li><li><a>4</a></li></ul><a>5</a>"#);
    assert_eq!(result, applied(1));
}

#[test]
fn eq_never_counts_the_chosen_element_inside_itself() {
    let html = r#"<div id="o"><div id="i1"><div id="i2"></div></div></div><div id="after"></div>"#;
    let (out, result) = one(html, "div:eq(0) div", Action::SetAttribute(attrs(&[("x", "1")])));
    assert_eq!(out, r#"<div id="o"><div id="i1" x="1"><div id="i2" x="1"></div></div></div><div id="after"></div>"#);
    assert_eq!(result, applied(2));
    let (out, _) = one(html, "div:eq(0) > div:eq(0)", Action::SetAttribute(attrs(&[("x", "1")])));
    assert_eq!(out, r#"<div id="o"><div id="i1" x="1"><div id="i2"></div></div></div><div id="after"></div>"#);
}

#[test]
fn eq_chains_like_visual_editor_selectors() {
    let html =
        "<html><body><div><h2>a</h2></div><div><h2>b</h2><div><h2>nested</h2></div><h2>c</h2></div></body></html>";
    let (out, result) = one(html, "HTML > BODY > DIV:eq(1) > H2:eq(1)", Action::SetText("x".into()));
    assert_eq!(
        out,
        "<html><body><div><h2>a</h2></div><div><h2>b</h2><div><h2>nested</h2></div><h2>x</h2></div></body></html>"
    );
    assert_eq!(result, applied(1));
    // Without `>` the nested one counts, in document order.
    let (out, _) = one(html, "body > div:eq(1) h2:eq(1)", Action::SetText("x".into()));
    assert_eq!(
        out,
        "<html><body><div><h2>a</h2></div><div><h2>b</h2><div><h2>x</h2></div><h2>c</h2></div></body></html>"
    );
    // The chosen element itself, with nothing after the last :eq.
    let (out, _) = one(html, "div:eq(2)", Action::SetAttribute(attrs(&[("x", "1")])));
    assert_eq!(
        out,
        r#"<html><body><div><h2>a</h2></div><div><h2>b</h2><div x="1"><h2>nested</h2></div><h2>c</h2></div></body></html>"#
    );
}

#[test]
fn eq_parts_with_several_compounds() {
    let html =
        "<section><ul><li>1</li><li>2<ul><li>deep</li></ul></li></ul></section><section><ul><li>3</li></ul></section>";
    let (out, result) = one(html, "section:eq(0) > ul > li", Action::SetAttribute(attrs(&[("x", "1")])));
    assert_eq!(
        out,
        r#"<section><ul><li x="1">1</li><li x="1">2<ul><li>deep</li></ul></li></ul></section><section><ul><li>3</li></ul></section>"#
    );
    assert_eq!(result, applied(2));
    let (_, result) = one(html, "section:eq(0) ul li:eq(2)", Action::SetText("x".into()));
    assert_eq!(result, applied(1));
    let (out, _) = one(html, "section:eq(1) ul li:eq(0)", Action::SetText("x".into()));
    assert_eq!(
        out,
        "<section><ul><li>1</li><li>2<ul><li>deep</li></ul></li></ul></section><section><ul><li>x</li></ul></section>"
    );
}

#[test]
fn unsupported_selectors_are_reported_and_the_rest_applies() {
    let html = "<p>a</p><p>b</p>";
    let edits = [
        Edit::new("p:hover", Action::Remove),
        Edit::new("p + p", Action::Remove),
        Edit::new("p[", Action::Remove),
        Edit::new("", Action::Remove),
        Edit::new("p:eq(-1)", Action::Remove),
        Edit::new(":eq(0) p", Action::Remove),
        Edit::new("p:eq(0) ~ p", Action::Remove),
        Edit::new("p", Action::SetAttribute(attrs(&[("bad name", "1")]))),
        Edit::new("p", Action::SetStyle(attrs(&[("color", "red; position: fixed")]))),
        Edit::new("p:eq(1)", Action::SetText("ok".into())),
    ];
    let (out, report) = run(html, &edits);
    assert_eq!(out, "<p>a</p><p>ok</p>");
    let reasons: Vec<String> = report
        .edits
        .iter()
        .map(|result| match result {
            EditResult::Unsupported { reason } => reason.to_string(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(reasons.len(), edits.len());
    assert!(reasons[0].contains("\"p:hover\"") && reasons[0].contains("Unsupported pseudo-class"), "{}", reasons[0]);
    assert!(reasons[1].contains("Unsupported combinator `+`"), "{}", reasons[1]);
    assert!(reasons[3].contains("empty"), "{}", reasons[3]);
    assert!(reasons[4].contains("from the end"), "{}", reasons[4]);
    assert!(reasons[7].contains("\"bad name\""), "{}", reasons[7]);
    assert!(reasons[8].contains("single CSS value"), "{}", reasons[8]);
    assert_eq!(report.edits[9], applied(1));
    assert!(report.edits[..9].iter().all(|result| matches!(result, EditResult::Unsupported { .. })));
}

#[test]
fn edits_on_one_element_combine_in_order() {
    let html = r#"<div id="a">x</div>"#;
    let cases: [(&[Action], &str); 7] = [
        (&[Action::AppendHtml("1".into()), Action::SetHtml("2".into())], r#"<div id="a">2</div>"#),
        (&[Action::SetHtml("2".into()), Action::AppendHtml("1".into())], r#"<div id="a">21</div>"#),
        (&[Action::PrependHtml("1".into()), Action::PrependHtml("2".into())], r#"<div id="a">21x</div>"#),
        (&[Action::InsertAfter("1".into()), Action::InsertAfter("2".into())], r#"<div id="a">x</div>21"#),
        (&[Action::InsertBefore("1".into()), Action::InsertBefore("2".into())], r#"12<div id="a">x</div>"#),
        (&[Action::InsertBefore("1".into()), Action::AppendHtml("2".into()), Action::ReplaceHtml("R".into())], "1R"),
        (&[Action::SetText("a".into()), Action::SetText("b".into())], r#"<div id="a">b</div>"#),
    ];
    for (actions, expected) in cases {
        let edits: Vec<Edit> = actions.iter().map(|action| Edit::new("#a", action.clone())).collect();
        assert_eq!(run(html, &edits).0, expected, "{actions:?}");
    }
    let (out, report) = run(html, &[Edit::new("div", Action::Remove), Edit::new("#a", Action::SetText("y".into()))]);
    assert_eq!((out.as_str(), &report.edits[1]), ("", &EditResult::NoMatch));
}

#[test]
fn nested_edits_see_what_earlier_edits_left() {
    let html = r#"<div id="p"><span id="c">x</span></div><span id="d">y</span>"#;
    // The parent's content is replaced first: its old child is gone for the later edit.
    let (out, report) = run(
        html,
        &[
            Edit::new("#p", Action::SetHtml("<b>new</b>".into())),
            Edit::new("span", Action::SetAttribute(attrs(&[("k", "v")]))),
        ],
    );
    assert_eq!(out, r#"<div id="p"><b>new</b></div><span id="d" k="v">y</span>"#);
    assert_eq!(report.edits, [applied(1), applied(1)]);
    // Content inserted by an edit is not matched by the others (it is not parsed again).
    let (out, report) =
        run(html, &[Edit::new("#d", Action::AppendHtml("<i class=n>n</i>".into())), Edit::new(".n", Action::Remove)]);
    assert_eq!(out, r#"<div id="p"><span id="c">x</span></div><span id="d">y<i class=n>n</i></span>"#);
    assert_eq!(report.edits[1], EditResult::NoMatch);
    // A change inside an element a later edit removes: applied, then removed with it.
    let (out, report) = run(html, &[Edit::new("#c", Action::SetText("z".into())), Edit::new("#p", Action::Remove)]);
    assert_eq!(out, r#"<span id="d">y</span>"#);
    assert_eq!(report.edits, [applied(1), applied(1)]);
}

#[test]
fn eq_counts_what_the_edits_before_left() {
    let html = r#"<ul id="one"><li>a</li><li>b</li></ul><ul id="two"><li>c</li><li>d</li></ul>"#;
    // The third item is counted before the first list goes.
    let (out, report) =
        run(html, &[Edit::new("li:eq(2)", Action::SetText("x".into())), Edit::new("#one", Action::Remove)]);
    assert_eq!(out, r#"<ul id="two"><li>x</li><li>d</li></ul>"#);
    assert_eq!(report.edits, [applied(1), applied(1)]);
    // Once the first list is gone, the second item is the second list's last.
    let (out, _) = run(html, &[Edit::new("#one", Action::Remove), Edit::new("li:eq(1)", Action::SetText("x".into()))]);
    assert_eq!(out, r#"<ul id="two"><li>c</li><li>x</li></ul>"#);
    let (out, _) =
        run(html, &[Edit::new("#one", Action::SetHtml("<i>0</i>".into())), Edit::new("ul li:eq(0)", Action::Remove)]);
    assert_eq!(out, r#"<ul id="one"><i>0</i></ul><ul id="two"><li>d</li></ul>"#);
}

#[test]
fn elements_without_end_tags_are_left_to_the_browser() {
    let html = "<ul><li id=a>one<li id=b>two</ul><p>after";
    let edits = [Edit::new("#a", Action::Remove), Edit::new("#b", Action::SetAttribute(attrs(&[("k", "v")])))];
    let (out, report) = run(html, &edits);
    assert_eq!(out, "<ul><li id=a>one<li id=b k=\"v\">two</ul><p>after");
    assert_eq!(
        report.edits,
        [EditResult::Unsupported { reason: UnsupportedReason::NoEndTag { tag: "li".into() } }, applied(1)]
    );
    // What does not depend on where the element ends still applies.
    let (out, report) = run(html, &[Edit::new("#a", Action::PrependHtml("<i>0</i>".into()))]);
    assert_eq!(out, "<ul><li id=a><i>0</i>one<li id=b>two</ul><p>after");
    assert_eq!(report.edits, [applied(1)]);
    // `<body>` ends where the page does, in browsers too.
    let (out, report) = run("<html><body><p>x</p></html>", &[Edit::new("body", Action::AppendHtml("<i>1</i>".into()))]);
    assert_eq!((out.as_str(), &report.edits[0]), ("<html><body><p>x</p><i>1</i></html>", &applied(1)));
    // Never closed at all: what goes at its end comes at the end of the page.
    let edits = [
        Edit::new("body", Action::AppendHtml("<i>1</i>".into())),
        Edit::new("#d", Action::AppendHtml("<i>2</i>".into())),
        Edit::new("#d", Action::InsertAfter("<i>3</i>".into())),
        Edit::new("#d", Action::InsertAfter("<i>4</i>".into())),
    ];
    let (out, report) = run("<body><p>x</p><div id=d>y", &edits);
    assert_eq!(out, "<body><p>x</p><div id=d>y<i>2</i><i>4</i><i>3</i><i>1</i>");
    assert_eq!(report.applied(), 4);
    // Closed properly, it applies.
    let (out, report) = run("<ul><li id=a>one</li><li>two</li></ul>", &[Edit::new("#a", Action::Remove)]);
    assert_eq!((out.as_str(), &report.edits[0]), ("<ul><li>two</li></ul>", &applied(1)));
}

#[test]
fn script_and_comment_text_is_never_matched() {
    let html = r#"<script>document.write("<div id=a>x</div>")</script><!-- <div id=a></div> --><textarea><div id=a></div></textarea>"#;
    let (out, result) = one(html, "#a", Action::Remove);
    assert_eq!((out.as_str(), result), (html, EditResult::NoMatch));
}

#[test]
fn a_plan_is_reused_across_pages() {
    let plan = Plan::new(&[Edit::new("h1", Action::SetText("Hi".into())).with_mark("1")], Some("<meta name=x>"));
    for page in ["<head></head><h1>a</h1>", "<head></head><h1>b</h1><h1>c</h1>"] {
        let (out, report) = plan.rewrite(page.as_bytes()).unwrap();
        let h1s = page.matches("<h1>").count();
        assert_eq!(String::from_utf8(out).unwrap().matches(r#"<h1 data-edgecdp-interact-id="1">Hi</h1>"#).count(), h1s);
        assert_eq!(report.edits, [applied(h1s)]);
        assert!(report.complete());
    }
}

#[test]
fn the_storefront_fixture_takes_five_edits() {
    let page = include_bytes!("../benches/data/storefront.html");
    let edits = [
        Edit::new("#hero h1.page-title", Action::SetHtml("<span class=\"base\">For you</span>".into())).with_mark("1"),
        Edit::new("#promo .promo-text", Action::SetText("Welcome back".into())),
        Edit::new("ol.product-items > li:eq(2) .price", Action::SetStyle(attrs(&[("color", "red")]))),
        Edit::new("#recommendations .recs-placeholder", Action::SetHtml("<div class=rec>r</div>".into())),
        Edit::new("img.hero-image", Action::SetImageSource("/hero.jpg".into())),
    ];
    let (out, report) =
        rewrite(page, &edits, Some("<script type=\"application/json\" id=\"edgecdp-response\">{}</script>")).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert_eq!(report.edits, vec![applied(1); 5]);
    assert_eq!(report.head, Some(InjectedAt::EndOfHead));
    assert!(
        out.contains(r#"<h1 class="page-title" data-edgecdp-interact-id="1"><span class="base">For you</span></h1>"#)
    );
    assert_eq!(out.matches(r#"style="color: red;""#).count(), 1);
    assert!(out.contains(
        r#"</style>
<script type="application/json" id="edgecdp-response">{}</script></head>"#
    ));
}
