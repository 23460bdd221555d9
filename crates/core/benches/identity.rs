//! Benchmarks of the identity service's pure parts: the edge resolving a login against a
//! person with a full (50-identity) graph, and building graphs from 10,000 link records.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use edgecdp_core::identity::graph::{AuthState, GraphConfig, LinkedIdentity, build};
use edgecdp_core::identity::resolve::{EdgeFragment, resolve};
use edgecdp_core::identity::{Ecid, IdentityKey, LinkRecord, Namespaces};
use edgecdp_core::time::Timestamp;

fn ecid(i: u64) -> String {
    format!("{:038}", 10u128.pow(37) + u128::from(i))
}

fn li(ns: &str, id: &str, state: AuthState) -> LinkedIdentity {
    LinkedIdentity { key: IdentityKey::new(ns, id), state }
}

/// A person seen on 47 browsers, with a CRMID, an email and a loyalty number: 50 identities.
fn full_person() -> EdgeFragment {
    let mut identities = vec![
        IdentityKey::new("CRMID", "crm-1042"),
        IdentityKey::new("Email", "sarah.rose@example.com"),
        IdentityKey::new("LoyaltyID", "LY-778"),
    ];
    identities.extend((0..47).map(|i| IdentityKey::new("ECID", ecid(i))));
    EdgeFragment {
        person: IdentityKey::new("CRMID", "crm-1042"),
        identities,
        attributes: Default::default(),
        version: 1,
        updated_at: Timestamp(0),
        segments: None,
        decisions: None,
    }
}

/// 10,000 records: 2,000 people, each logging in on a few browsers, with loyalty rows, and a
/// few shared browsers.
fn records(n: usize) -> Vec<LinkRecord> {
    (0..n)
        .map(|i| {
            let person = i % 2000;
            let browser = if i % 97 == 0 { 7 } else { i as u64 };
            let mut ids = vec![
                li("ECID", &ecid(browser), AuthState::Ambiguous),
                li("CRMID", &format!("crm-{person}"), AuthState::Authenticated),
            ];
            if i % 5 == 0 {
                ids.push(li("Email", &format!("p{person}@example.com"), AuthState::Authenticated));
            }
            if i % 11 == 0 {
                ids.push(li("LoyaltyID", &format!("LY-{person}"), AuthState::Authenticated));
            }
            LinkRecord::new(format!("r{i}"), Timestamp(i as i64 * 1000), ids)
        })
        .collect()
}

fn bench_identity(c: &mut Criterion) {
    let ns = Namespaces::defaults();
    let view = full_person();
    let browser = Ecid::parse(&ecid(10_000)).unwrap_or_else(|_| Ecid::mint([1; 16]));
    let login = LinkRecord::new(
        "login",
        Timestamp(1),
        [
            li("ECID", browser.as_str(), AuthState::Ambiguous),
            li("Email", "sarah.rose@example.com", AuthState::Authenticated),
            li("CRMID", "crm-1042", AuthState::Authenticated),
        ],
    );
    let mut group = c.benchmark_group("identity");
    group.throughput(Throughput::Elements(1));
    group.bench_function("edge-resolve-login-against-50-identity-graph", |b| {
        b.iter(|| resolve(&browser, std::slice::from_ref(&login), &|_| Some(view.clone()), &ns, Timestamp(2)))
    });
    let fifty: Vec<LinkRecord> = (0..47)
        .map(|i| {
            LinkRecord::new(
                format!("r{i}"),
                Timestamp(i),
                [li("ECID", &ecid(i as u64), AuthState::Ambiguous), li("CRMID", "crm-1042", AuthState::Authenticated)],
            )
        })
        .collect();
    group.bench_function("build-one-50-identity-graph", |b| b.iter(|| build(&fifty, &GraphConfig::default())));
    let n = 10_000usize;
    let recs = records(n);
    group.throughput(Throughput::Elements(n as u64));
    group.sample_size(10);
    group.bench_function(BenchmarkId::new("build-graphs-from-link-records", n), |b| {
        b.iter(|| build(&recs, &GraphConfig::default()))
    });
    group.finish();
}

// criterion_group! expands to an undocumented public function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench_identity);
}
use group::benches;
criterion_main!(benches);
