//! Proxy mode on arbitrary input: an edge answer (the JSON part) and a page (the rest) split from
//! the fuzzer's bytes. Reading the answer never panics; rewriting any page with its edits never
//! panics, and either succeeds or reports an error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (answer, page) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b"<html><head></head><body><div id=\"x\">x</div></body></html>"[..]),
    };
    if let Ok(plan) = edgecdp_rewrite::page::plan(answer) {
        let _ = edgecdp_rewrite::rewrite(page, &plan.edits, Some(&plan.inline));
    }
});
