#![no_main]
//! Any bytes as a scraped page: list and article selectors.
// Each target uses one reader of the shared harness; the rest is unused here.
#[allow(dead_code)]
#[path = "../harness.rs"]
mod harness;
libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::page(data));
