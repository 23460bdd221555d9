//! Benchmarks of streaming segmentation:
//! - events through the evaluator (fold + decide at the event's time) with 150 and 1,000
//!   segments of mixed shapes: per event, and the segment evaluations per second that makes
//!   (every segment of the set answered for the event; the index touches only those the event
//!   can change, printed as "touched");
//! - the cost of one event after 10, 1,000 and 10,000 events of history (state is bounded, so
//!   the cost must not grow: the 10,000 / 10 ratio is printed);
//! - compiling 1,000 segments.

use std::time::Instant;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use edgecdp_core::map::ObjectMap;
use edgecdp_core::object;
use edgecdp_core::segment::compile::Options;
use edgecdp_core::segment::schema::{Schema, Ty};
use edgecdp_core::segment::set::{Definition, ProfileSegments, SegmentSet};
use edgecdp_core::time::Timestamp;
use edgecdp_core::value::Value;

const TYPES: usize = 40;

/// Segment `i` of a mixed set: profile predicates, one- to four-step chains with windows,
/// abandonment (absence) chains, windowed counts, event-vs-profile comparisons, and references.
fn definition(i: usize) -> Definition {
    let t = |k: usize| format!("t{}", k % TYPES);
    let pql = match i % 8 {
        0 => format!("loyalty.points > {}", i % 500),
        1 => format!(
            "chain(xEvent, timestamp, [A: WHAT(eventType = \"{}\") WHEN(< {} hours before now)])",
            t(i),
            1 + i % 72
        ),
        2 => format!(
            "chain(xEvent, timestamp, [A: WHAT(eventType = \"{}\"), B: WHAT(eventType = \"{}\"), C: WHAT(eventType = \"{}\") WHEN(< 7 days before now)])",
            t(i),
            t(i + 1),
            t(i + 2)
        ),
        3 => format!(
            "loyalty.tier in [\"Bronze\", \"Gold\"] and chain(xEvent, timestamp, [A: WHAT(eventType = \"{}\") WHEN(< 7 days before now), B: NOT WHAT(eventType = \"{}\") WHEN(< 1 hour after A)])",
            t(i),
            t(i + 3)
        ),
        4 => format!(
            "xEvent[eventType = \"{}\" and timestamp occurs < 24 hours before now].count() >= {}",
            t(i),
            1 + i % 5
        ),
        5 => format!(
            "chain(xEvent, timestamp, [A: WHAT(eventType = \"{}\" and exists I from productListItems where I._luma.size != Profile._luma.preferredSize) WHEN(< 7 days before now)])",
            t(i)
        ),
        6 => format!("inSegment(\"s{}\") and loyalty.points >= {}", i - 5, i % 100),
        _ => format!(
            "chain(xEvent, timestamp, [A: WHAT(eventType.equals(\"{}\", false) and commerce.order.priceTotal > {}) WHEN(< 30 days before now)])",
            t(i).to_uppercase(),
            i % 90
        ),
    };
    Definition { id: format!("s{i}"), name: String::new(), pql, description: String::new() }
}

fn schema() -> Schema {
    let mut s = Schema::standard();
    s.add_profile_attribute("_luma.preferredSize", Ty::String);
    s
}

fn set_of(n: usize) -> SegmentSet {
    let defs: Vec<Definition> = (0..n).map(definition).collect();
    let set = SegmentSet::load(&defs, &schema(), &Options::default());
    assert!(set.skipped().is_empty(), "{:?}", set.skipped().first());
    set
}

fn profile() -> ObjectMap<Value> {
    let mut p = ObjectMap::new();
    p.insert("loyalty.tier".into(), Value::from("Bronze"));
    p.insert("loyalty.points".into(), Value::from(240u64));
    p.insert("_luma.preferredSize".into(), Value::from("S"));
    p
}

fn event(k: usize) -> Value {
    object! {
        "eventType" => format!("t{}", k % TYPES),
        "commerce" => object! { "order" => object! { "priceTotal" => (k % 120) as f64 } },
        "productListItems" => vec![object! { "SKU" => "MS-RUN-01", "_luma" => object! { "size" => if k.is_multiple_of(3) { "S" } else { "L" } } }],
    }
}

/// A profile that has seen `n` events, one every 37 seconds, ending at `end`.
fn history(set: &SegmentSet, n: usize, end: i64) -> ProfileSegments {
    let p = profile();
    let mut st = ProfileSegments::new();
    for k in 0..n {
        let at = Timestamp(end - (n - k) as i64 * 37_000);
        let touched = set.on_event(&mut st, &event(k * 7), at, &p);
        set.evaluate(&mut st, &p, at, &touched);
    }
    st
}

// A benchmark reads the clock for its printed ratio and prints its figures.
#[allow(clippy::print_stderr, clippy::disallowed_methods)]
fn bench_segments(c: &mut Criterion) {
    let mut group = c.benchmark_group("segments");
    let p = profile();
    let end = 1_800_000_000_000_i64;
    for n in [150, 1000] {
        let set = set_of(n);
        let base = history(&set, 200, end);
        // How many segments an event touches (the rest are answered without being looked at).
        let mut st = base.clone();
        let touched: usize =
            (0..200).map(|k| set.on_event(&mut st, &event(k), Timestamp(end + k as i64), &p).len()).sum();
        eprintln!("segments/{n}: an event touches {:.1} segments on average", touched as f64 / 200.0);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("event-fold-and-decide", n), &set, |b, set| {
            let mut st = base.clone();
            let mut k = 0usize;
            b.iter(|| {
                k += 1;
                let at = Timestamp(end + k as i64 * 1000);
                let touched = set.on_event(&mut st, &event(k), at, &p);
                set.evaluate(&mut st, &p, at, &touched)
            });
        });
    }
    // One event's cost after 10, 1,000 and 10,000 events of history.
    let set = set_of(150);
    let mut per_event = Vec::new();
    for n in [10, 1000, 10_000] {
        let base = history(&set, n, end);
        group.throughput(Throughput::Elements(1));
        // The state is cloned before and dropped after the timed part.
        group.bench_with_input(BenchmarkId::new("one-event-after-history", n), &base, |b, base| {
            b.iter_batched_ref(
                || base.clone(),
                |st| {
                    let touched = set.on_event(st, &event(n + 1), Timestamp(end + 1000), &p);
                    set.evaluate(st, &p, Timestamp(end + 1000), &touched)
                },
                criterion::BatchSize::SmallInput,
            );
        });
        // A direct measurement for the printed ratio, the same way: copies made before the clock
        // starts, dropped after it stops.
        let rounds = 2000;
        let mut states: Vec<ProfileSegments> = (0..rounds).map(|_| base.clone()).collect();
        let started = Instant::now();
        for (r, st) in states.iter_mut().enumerate() {
            let touched = set.on_event(st, &event(n + r), Timestamp(end + 1000), &p);
            std::hint::black_box(set.evaluate(st, &p, Timestamp(end + 1000), &touched));
        }
        per_event.push(started.elapsed().as_secs_f64() / rounds as f64);
        drop(states);
        let bytes = rmp_serde::to_vec(&base).map_or(0, |b| b.len());
        eprintln!("segments/150 after {n} events: state {bytes} bytes for 150 segments");
    }
    eprintln!(
        "one event after 10 / 1,000 / 10,000 events of history: {:.1} / {:.1} / {:.1} µs; 10,000 / 10 ratio {:.2}",
        per_event[0] * 1e6,
        per_event[1] * 1e6,
        per_event[2] * 1e6,
        per_event[2] / per_event[0]
    );
    let defs: Vec<Definition> = (0..1000).map(definition).collect();
    group.throughput(Throughput::Elements(1000));
    group.sample_size(10);
    group.bench_function("compile-1000-segments", |b| {
        b.iter(|| SegmentSet::load(&defs, &schema(), &Options::default()))
    });
    group.finish();
}

#[allow(missing_docs)]
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    bench_segments(&mut c);
}

criterion_main!(benches);
