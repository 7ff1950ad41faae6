#![no_main]
//! Any bytes as a polled feed: parser and gate.
#[path = "../harness.rs"]
mod harness;
libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::feed(data));
