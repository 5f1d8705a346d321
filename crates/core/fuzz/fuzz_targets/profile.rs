#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ca_core::fuzzing::profile(data));
