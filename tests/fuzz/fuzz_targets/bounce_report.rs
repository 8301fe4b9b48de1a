#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| herald_fuzz::checks::bounce_report(data));
