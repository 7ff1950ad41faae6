#![no_main]
//! Any bytes as a scraped page: list and article selectors.
#[path = "../harness.rs"]
mod harness;
libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::page(data));
