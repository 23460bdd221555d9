//! Segment definitions (PQL) on arbitrary text: parsing never panics, whatever parses prints as
//! text that parses back to the same tree, and compiling it never panics either.
#![no_main]

use edgecdp_core::segment::compile::{Options, compile};
use edgecdp_core::segment::schema::Schema;
use edgecdp_core::segment::{parse, print};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|source: &str| {
    if let Ok(query) = parse(source) {
        let _ = compile(&query, source, &Schema::standard(), &Options::default());
        let printed = print(&query);
        match parse(&printed) {
            Ok(again) => {
                assert_eq!(again, query, "{source:?} printed as {printed:?} reads back differently");
                assert_eq!(print(&again), printed, "printing {source:?} is not a fixed point");
            }
            Err(error) => panic!("{source:?} printed as {printed:?} does not parse: {error}"),
        }
    }
});
