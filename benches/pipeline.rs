//! criterion benches of one file's way through pullsmith, on the real
//! manifests of `../shared/corpus` (every Kubernetes YAML file there but
//! the YAML test suite and the Helm templates): `parse` (yaml-rust2 events
//! into the positional tree, with the strict checks), `plan` (what the
//! rules change, on parsed files), and `splice + verify` (the new text and
//! the post-edit check a run makes, which parses it again).
//!
//!   cargo bench --bench pipeline [-- FILTER]
//!
//! Whole-repository throughput, memory and the comparison with the floor
//! and the peers are `benches/run.sh`'s.

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pullsmith::edit;
use pullsmith::plan::{self, PlanContext};
use pullsmith::rules::{Rules, RulesOrigin};
use pullsmith::verify::{self, Intended, IntendedFields};
use pullsmith::yaml;

/// Every file claimed by one environment: policy `Always`, one pull secret.
const RULES: &str = "version: 1\nenvironments:\n  prod:\n    paths: [\"**\"]\n    imagePullPolicy: Always\n    imagePullSecrets: [regcred]\n";

fn corpus_files() -> Option<Vec<(String, String)>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if !root.is_dir() {
        eprintln!("note: {} is absent; the pipeline benches have no input", root.display());
        return None;
    }
    let mut paths = Vec::new();
    collect(&root, &mut paths);
    paths.sort();
    let files = paths
        .into_iter()
        .filter_map(|path| {
            let text = std::fs::read_to_string(&path).ok()?;
            let rel = path.strip_prefix(&root).ok()?.to_string_lossy().into_owned();
            Some((rel, text))
        })
        .collect();
    Some(files)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            if name != "yaml-test-suite" && name != "templates" {
                collect(&path, out);
            }
        } else if kind.is_file() && (name.ends_with(".yaml") || name.ends_with(".yml")) {
            out.push(path);
        }
    }
}

fn pipeline(c: &mut Criterion) {
    let Some(files) = corpus_files() else { return };
    let rules = Rules::parse(RULES, RulesOrigin::Embedded).expect("the bench's rules are valid");
    let ctx = PlanContext::of_rules(&rules);
    let parsed: Vec<(&str, &str, Vec<yaml::Document>)> = files
        .iter()
        .filter_map(|(path, text)| yaml::parse(text).ok().map(|documents| (path.as_str(), text.as_str(), documents)))
        .collect();
    let planned: Vec<_> = parsed
        .iter()
        .filter_map(|(path, text, documents)| {
            let plan = plan::plan_file(text, path, documents, &ctx).ok()?;
            let splices = plan.splices();
            (!splices.is_empty()).then_some((*text, documents, splices, plan.touched))
        })
        .collect();
    let bytes = |texts: &mut dyn Iterator<Item = &str>| texts.map(|t| t.len() as u64).sum::<u64>();
    eprintln!("pipeline benches: {} corpus files, {} parse, {} change", files.len(), parsed.len(), planned.len());

    let mut group = c.benchmark_group("corpus");
    group.throughput(Throughput::Bytes(bytes(&mut parsed.iter().map(|p| p.1))));
    group.bench_function("parse", |b| {
        b.iter(|| parsed.iter().map(|(_, text, _)| yaml::parse(text).map_or(0, |d| d.len())).sum::<usize>())
    });
    group.bench_function("plan", |b| {
        b.iter(|| {
            parsed
                .iter()
                .filter_map(|(path, text, documents)| plan::plan_file(text, path, documents, &ctx).ok())
                .map(|plan| plan.changes.len())
                .sum::<usize>()
        })
    });
    group.throughput(Throughput::Bytes(bytes(&mut planned.iter().map(|p| p.0))));
    group.bench_function("splice + verify", |b| {
        b.iter(|| {
            for (text, documents, splices, touched) in &planned {
                let output = edit::apply(text, splices);
                let intended =
                    Intended { documents, fields: IntendedFields::PullFields { touched }, splices, replan: None };
                verify::invariant(text, &output, &intended).expect("the corpus edits keep the invariant");
            }
        })
    });
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
