//! `cargo +nightly fuzz run manifest`: see `pullsmith::fuzzing::manifest` for what is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = pullsmith::fuzzing::manifest(data);
});
