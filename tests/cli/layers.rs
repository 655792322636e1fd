//! The layering of `src/` stays true (docs/ARCHITECTURE.md): a module uses
//! only modules of layers below its own, read from its `crate::…` paths.
//! Not a test of the binary: of the source the binary is built from.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::util::project_root;

/// Every top-level module of `src/`, bottom first; a module may use only
/// modules of a lower layer. `lib.rs`, `main.rs` and `cli.rs` are the edge.
const LAYERS: &[&[&str]] = &[
    &["common"],
    &["fsio"],
    &["yaml"],
    &["edit"],
    &["rules"],
    &["manifest"],
    &["coverage", "verify", "discover", "helm"],
    &["plan"],
    &["kustomize", "release"],
    &["pipeline", "init"],
    &["emit", "git"],
    &["fuzzing"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The top-level module a source file belongs to (`src/kustomize/build.rs` → `kustomize`).
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("below src/");
    let first = relative.components().next().expect("a component").as_os_str().to_string_lossy().into_owned();
    first.trim_end_matches(".rs").to_string()
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// module → the modules its code names as `crate::<module>`.
fn uses() -> BTreeMap<String, BTreeSet<String>> {
    let src = project_root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let module = module_of(&src, &file);
        let text = std::fs::read_to_string(&file).expect("read source");
        let used: BTreeSet<String> = crate_uses(&text).into_iter().filter(|used| *used != module).collect();
        if !used.is_empty() {
            graph.entry(module).or_default().extend(used);
        }
    }
    graph
}

/// The top-level modules a source text names after `crate::`, in paths
/// (`crate::plan::X`) and in groups (`crate::{manifest, release}`, over
/// several lines too); comment lines are not read.
fn crate_uses(text: &str) -> BTreeSet<String> {
    let code: String = text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
    let ident = |s: &str| -> String { s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect() };
    let mut used = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The group's items at its top level: `a`, `b::{c, d}`, `self`.
            let mut depth = 0;
            let end = group
                .char_indices()
                .find(|&(_, c)| match c {
                    '{' => {
                        depth += 1;
                        false
                    }
                    '}' if depth == 0 => true,
                    '}' => {
                        depth -= 1;
                        false
                    }
                    _ => false,
                })
                .map_or(group.len(), |(i, _)| i);
            let mut depth = 0;
            let mut item_start = 0;
            for (i, c) in group[..end].char_indices().chain(std::iter::once((end, ','))) {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        let name = ident(group[item_start..i].trim_start());
                        if !name.is_empty() && name != "self" {
                            used.insert(name);
                        }
                        item_start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                used.insert(name);
            }
        }
    }
    used
}

#[test]
fn imports_are_read_in_paths_and_in_groups() {
    let text = "use crate::plan::{self, X};\nuse crate::{manifest, release::{find, Y}};\nuse crate::{\n    edit,\n    yaml::Node,\n};\n// crate::git\nlet _ = crate::rules::Rules::parse;\n";
    let expected: BTreeSet<String> =
        ["plan", "manifest", "release", "edit", "yaml", "rules"].map(str::to_string).into_iter().collect();
    assert_eq!(crate_uses(text), expected);
}

#[test]
fn every_module_uses_only_layers_below_it() {
    let graph = uses();
    assert!(graph.len() > 5, "the source was read: {graph:?}");
    let edge = ["lib", "main", "cli"];
    let mut problems = Vec::new();
    let src = project_root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    for module in files.iter().map(|f| module_of(&src, f)).collect::<BTreeSet<_>>() {
        if !edge.contains(&module.as_str()) && layer_of(&module).is_none() {
            problems.push(format!("`{module}` is in no layer: add it to LAYERS and docs/ARCHITECTURE.md"));
        }
    }
    for (module, used) in &graph {
        let Some(layer) = layer_of(module) else { continue };
        for target in used {
            match layer_of(target) {
                Some(target_layer) if target_layer < layer => {}
                Some(_) => problems.push(format!("`{module}` uses `{target}`, which is not in a layer below it")),
                None => problems.push(format!("`{module}` uses `{target}`, which is the edge or unknown")),
            }
        }
    }
    assert!(problems.is_empty(), "{}\n\nthe graph: {graph:#?}", problems.join("\n"));
}

#[test]
fn the_layering_check_can_fail() {
    // `pipeline` uses `plan`, which is below it; the reverse would be refused.
    let graph = uses();
    assert!(graph["pipeline"].contains("plan"), "{graph:#?}");
    assert!(layer_of("plan") < layer_of("pipeline"));
    assert!(!graph.get("plan").is_some_and(|used| used.contains("pipeline")));
}

#[test]
fn the_architecture_page_and_the_readme_name_every_module() {
    let root = project_root();
    let architecture = std::fs::read_to_string(root.join("docs/ARCHITECTURE.md")).expect("docs/ARCHITECTURE.md");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let src = root.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
    for module in modules.iter().filter(|m| !["lib", "main", "cli"].contains(&m.as_str())) {
        assert!(architecture.contains(&format!("`{module}`")), "docs/ARCHITECTURE.md does not name `{module}`");
        let is_dir = src.join(module).is_dir();
        let listed = if is_dir { format!("src/{module}/") } else { format!("src/{module}.rs") };
        assert!(readme.contains(&listed), "README's Layout does not list {listed}");
        let graph_line = format!("\n{module:<10}-> ");
        assert!(architecture.contains(&graph_line), "docs/ARCHITECTURE.md's import graph has no line for `{module}`");
    }
    // The page's import graph is the one the source has.
    for (module, used) in uses() {
        if ["lib", "main", "cli"].contains(&module.as_str()) {
            continue;
        }
        let line = architecture
            .lines()
            .find(|l| l.starts_with(&format!("{module:<10}-> ")))
            .unwrap_or_else(|| panic!("no graph line for `{module}`"));
        let listed: BTreeSet<String> =
            line.split("-> ").nth(1).unwrap_or_default().split_whitespace().map(str::to_string).collect();
        assert_eq!(listed, used, "docs/ARCHITECTURE.md's graph line for `{module}`");
    }
}
