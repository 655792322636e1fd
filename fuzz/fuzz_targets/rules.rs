//! `cargo +nightly fuzz run rules`: see `pullsmith::fuzzing::rules` for what is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pullsmith::fuzzing::rules(data);
});
