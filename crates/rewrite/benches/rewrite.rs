//! Benchmarks of personalizing a storefront category page at the edge (`data/storefront.html`,
//! 48 KB, 23 product cards): five edits of the kinds Adobe Target sends (a headline, a banner
//! text, a price style on the third card through `:eq`, a recommendations block, a hero image)
//! plus the inlined edge response at the end of `<head>`.

use std::fmt::Write;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use edgecdp_rewrite::{Action, Edit, Plan, rewrite};

const PAGE: &[u8] = include_bytes!("data/storefront.html");

fn edits() -> Vec<Edit> {
    let mut recommendations = String::new();
    for i in 1..=4 {
        let _ = write!(
            recommendations,
            r#"<div class="rec" data-sku="MR{i:02}"><a href="/rec-{i}.html"><img src="/media/rec/{i}.jpg" alt="Recommended {i}" width="160" height="200"><span class="name">Recommended tee {i}</span><span class="price">$29.00</span></a></div>"#
        );
    }
    vec![
        Edit::new(
            "#hero h1.page-title",
            Action::SetHtml(r#"<span class="base">Tops picked for your next run</span>"#.into()),
        )
        .with_mark("1"),
        Edit::new(
            "#promo .promo-text",
            Action::SetText("Welcome back! 20% off tops until Sunday & free returns".into()),
        )
        .with_mark("2"),
        Edit::new(
            "ol.product-items > li:eq(2) .price",
            Action::SetStyle(vec![("color".into(), "#c0392b".into()), ("font-weight".into(), "700".into())]),
        )
        .with_mark("3"),
        Edit::new("#recommendations .recs-placeholder", Action::SetHtml(recommendations)).with_mark("4"),
        Edit::new("img.hero-image", Action::SetImageSource("/media/catalog/category/men-tops-loyal.jpg".into()))
            .with_mark("5"),
    ]
}

/// About what the edge inlines: a handle with five propositions.
fn head_inject() -> String {
    let body: String = (1..=5)
        .map(|i| format!(r##"{{"id":"prop-{i}","scope":"__view__","items":[{{"id":"item-{i}","schema":"https://ns.adobe.com/personalization/dom-action","data":{{"type":"setHtml","selector":"#sel-{i}","content":"<p>offer {i}</p>"}}}}]}}"##))
        .collect::<Vec<_>>()
        .join(",");
    format!(
        r#"<script type="application/json" id="edgecdp-response">{{"requestId":"r-1","handle":[{{"type":"personalization:decisions","payload":[{body}]}}]}}</script>"#
    )
}

#[allow(clippy::print_stderr, reason = "benchmarks print what they measure before criterion's figures")]
fn bench_rewrite(c: &mut Criterion) {
    let edits = edits();
    let inject = head_inject();
    let plan = Plan::new(&edits, Some(&inject));
    match plan.rewrite(PAGE) {
        Ok((out, report)) => eprintln!(
            "storefront page: {} bytes in, {} bytes out, {} of {} edits applied, head: {:?}",
            PAGE.len(),
            out.len(),
            report.applied(),
            edits.len(),
            report.head
        ),
        Err(error) => eprintln!("storefront page: rewrite failed: {error}"),
    }

    let mut group = c.benchmark_group("rewrite/storefront-48kb");
    group.throughput(Throughput::Elements(1));
    group.bench_function("5-edits-and-head", |b| b.iter(|| rewrite(PAGE, &edits, Some(&inject))));
    group.bench_function("5-edits-plan-reused", |b| b.iter(|| plan.rewrite(PAGE)));
    let bare = Plan::new(&[], None);
    group.bench_function("no-edits", |b| b.iter(|| bare.rewrite(PAGE)));
    for size in [1024, 16 * 1024] {
        group.bench_with_input(
            BenchmarkId::new("5-edits-streamed", format!("{}k-chunks", size / 1024)),
            &size,
            |b, &size| {
                b.iter(|| {
                    let mut bytes = 0;
                    let mut rewriter = plan.rewriter(|chunk: &[u8]| bytes += chunk.len());
                    for chunk in PAGE.chunks(size) {
                        let _ = rewriter.write(chunk);
                    }
                    let _ = rewriter.end();
                    bytes
                });
            },
        );
    }
    group.finish();

    let mut group = c.benchmark_group("rewrite/compile");
    group.throughput(Throughput::Elements(5));
    group.bench_function("5-edits", |b| b.iter(|| Plan::new(&edits, Some(&inject))));
    group.finish();
}

// criterion_group! expands to an undocumented public function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench_rewrite);
}
use group::benches;
criterion_main!(benches);
