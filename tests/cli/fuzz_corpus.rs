//! The fuzz targets' corpus (`fuzz/corpus/<target>/`, minimized with
//! `cargo fuzz cmin`) and every input kept from a crash
//! (`fuzz/regressions/<target>/`), replayed on stable through the same
//! library functions the targets call (`pullsmith::fuzzing`). Those panic
//! when a check fails, so a regression fails this test without nightly or
//! libFuzzer. Inputs found and not fixed yet (`fuzz/known/<target>/`) are
//! replayed too, and must still fail: fixing one fails this test until the
//! input moves to `fuzz/regressions/`.

use std::path::Path;

use crate::util::project_root;

/// What a fuzz target calls: it panics when a check fails.
type Check = fn(&[u8]);

/// A target's name and the function its fuzz target calls.
const TARGETS: &[(&str, Check)] = &[
    ("kustomization", pullsmith::fuzzing::kustomization),
    ("manifest", |data| {
        pullsmith::fuzzing::manifest(data);
    }),
    ("rules", pullsmith::fuzzing::rules),
    ("structured", pullsmith::fuzzing::structured),
];

/// Runs every file of `dir` through `check`; returns how many there were.
fn replay(dir: &Path, check: Check) -> usize {
    let files = files_of(dir);
    for file in &files {
        let data = std::fs::read(file).unwrap_or_else(|err| panic!("{}: {err}", file.display()));
        // The panic of a failed check names the input; say which file it came from too.
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(outcome.is_ok(), "{} fails its fuzz target's checks", file.display());
    }
    files.len()
}

/// The files of `dir`, sorted.
fn files_of(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<_> = entries.map(|entry| entry.expect("a directory entry").path()).collect();
    files.sort();
    files
}

#[test]
fn known_failures_still_fail() {
    let known = project_root().join("fuzz/known");
    for (target, check) in TARGETS {
        for file in files_of(&known.join(target)) {
            let data = std::fs::read(&file).unwrap_or_else(|err| panic!("{}: {err}", file.display()));
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_err(), "{} passes now: move it to fuzz/regressions/{target}/", file.display());
        }
    }
}

#[test]
fn every_corpus_and_regression_input_passes_its_fuzz_target() {
    let fuzz = project_root().join("fuzz");
    for (target, check) in TARGETS {
        let n_corpus = replay(&fuzz.join("corpus").join(target), *check);
        assert!(n_corpus > 0, "fuzz/corpus/{target}/ is empty or missing");
        replay(&fuzz.join("regressions").join(target), *check);
    }
}
