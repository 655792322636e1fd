//! `cargo +nightly fuzz run kustomization`: see `pullsmith::fuzzing::kustomization` for what is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pullsmith::fuzzing::kustomization(data);
});
