//! Sync batches and definitions snapshots on arbitrary bytes (the origin and the worker decode
//! what the other sends; a bad peer must not crash either).
#![no_main]

use edgecdp_core::snapshot::Snapshot;
use edgecdp_core::sync::SyncBatch;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = SyncBatch::decode(bytes);
    let _ = Snapshot::decode(bytes);
});
