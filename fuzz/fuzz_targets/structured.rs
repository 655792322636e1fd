//! `cargo +nightly fuzz run structured`: see `pullsmith::fuzzing::structured` for what is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pullsmith::fuzzing::structured(data);
});
