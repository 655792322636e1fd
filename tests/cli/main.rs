//! The one integration-test binary: every test runs the real `pullsmith`
//! binary on real files, as a user would, except the property tests
//! (`properties`) and the fuzz corpus replay (`fuzz_corpus`), which call the
//! library for speed.

mod util;

mod action;
mod action_install;
mod bad_input;
mod commands;
mod commit;
mod coverage;
mod docs;
mod faults;
mod file_safety;
mod fixtures;
mod formats;
mod fuzz_corpus;
mod helm_examples;
mod helm_oracle;
mod helm_releases;
mod init;
mod install_story;
mod kustomize;
mod kustomize_render;
mod large_runs;
mod layers;
mod messages;
mod output_safety;
mod properties;
mod rules_safety;
mod security;
mod service_accounts;
mod silent_gaps;
mod skipped_documents;
mod sweep;
mod versions;
mod workloads;
mod yaml_suite;
