#![no_main]
//! Any bytes as an OPML subscription list.
#[path = "../harness.rs"]
mod harness;
libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::opml(data));
