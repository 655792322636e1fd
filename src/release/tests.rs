use super::find::join;
use super::*;
use crate::rules::{Rules, RulesOrigin};
use crate::yaml;

fn rules() -> Rules {
    let text = "version: 1\nenvironments:\n  dev:\n    paths: [\"dev/**\"]\n    imagePullPolicy: Always\n  prod:\n    paths: [\"prod/**\"]\n    imagePullPolicy: IfNotPresent\n    imagePullSecrets: [regcred]\n";
    Rules::parse(text, RulesOrigin::Embedded).expect("valid rules")
}

fn source(text: &str) -> Result<SourceFile, String> {
    Ok(SourceFile { text: text.to_string(), documents: yaml::parse(text).expect("parses") })
}

#[test]
fn paths_never_climb_out_of_the_repository() {
    assert_eq!(join("charts/web", "values.yaml").as_deref(), Some("charts/web/values.yaml"));
    assert_eq!(join("charts/web", "../../envs/prod/v.yaml").as_deref(), Some("envs/prod/v.yaml"));
    assert_eq!(join("charts/web", "./x//y.yaml").as_deref(), Some("charts/web/x/y.yaml"));
    assert_eq!(join("charts", "../../etc/passwd"), None);
    assert_eq!(join("envs/dev", "../../.git/config"), None, "git's store is not the tree");
    assert_eq!(join("", "/.git/hooks/x.yaml"), None);
    assert_eq!(join("a", "/b.yaml").as_deref(), Some("b.yaml"), "a leading / is the repository root");
}

#[test]
fn argo_cd_layers_come_in_the_order_it_merges_them() {
    let text = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: web}\nspec:\n  source:\n    path: charts/web\n    helm:\n      valueFiles: [values.yaml, ../../envs/prod/web.yaml, /outside/../../x.yaml]\n      values: |\n        a: 1\n      parameters: [{name: image.tag, value: '2'}]\n";
    let documents = yaml::parse(text).unwrap();
    let found = find("prod/web.yaml", &documents);
    assert_eq!(found.len(), 1);
    let release = &found[0];
    assert_eq!(release.chart, ChartSource::Dir("charts/web".to_string()));
    let layers: Vec<(&str, &str)> = release.layers.iter().map(|l| (l.file.as_str(), l.label.as_str())).collect();
    assert_eq!(
        layers,
        vec![
            ("charts/web/values.yaml", "valueFiles[0] `values.yaml`"),
            ("envs/prod/web.yaml", "valueFiles[1] `../../envs/prod/web.yaml`"),
            ("prod/web.yaml", "helm.values"),
        ]
    );
    assert_eq!(release.blockers.len(), 1, "the file outside the repository: {:?}", release.blockers);
    assert_eq!(release.set_keys, vec!["image.tag".to_string()]);
    assert_eq!(release.create.as_ref().map(|c| c.label.as_str()), Some("helm.valuesObject"));
    // With a valuesObject, Argo CD ignores the values string.
    let text = text.replace("      parameters:", "      valuesObject: {b: 2}\n      parameters:");
    let found = find("prod/web.yaml", &yaml::parse(&text).unwrap());
    let labels: Vec<&str> = found[0].layers.iter().map(|l| l.label.as_str()).collect();
    assert_eq!(
        labels,
        vec!["valueFiles[0] `values.yaml`", "valueFiles[1] `../../envs/prod/web.yaml`", "helm.valuesObject"]
    );
}

#[test]
fn a_value_set_in_a_shared_file_is_written_where_the_environment_alone_reaches() {
    // Two Applications of one remote chart share base.yaml, which sets the policy.
    let app = |env: &str| {
        format!("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: web}}\nspec:\n  sources:\n  - chart: web\n    repoURL: https://charts.example.com\n    helm:\n      valueFiles: [$values/base.yaml]\n  - repoURL: https://git.example.com/fleet\n    ref: values\n  destination: {{namespace: {env}}}\n")
    };
    let mut sources = Sources::default();
    let mut releases = Vec::new();
    for env in ["dev", "prod"] {
        let file = format!("{env}/web.yaml");
        let text = app(env);
        releases.extend(find(&file, &yaml::parse(&text).unwrap()));
        sources.files.insert(file, source(&text));
    }
    sources.files.insert("base.yaml".to_string(), source("image:\n  pullPolicy: Never\n"));
    let rules = rules();
    let env_of_file = |path: &str| rules.env_for_path(path).ok().flatten();
    let planned = plan_releases(&releases, &sources, &rules, &env_of_file, &|_| true);
    assert!(!planned.edits.contains_key("base.yaml"), "a file both environments read is never edited");
    let dev = &planned.edits["dev/web.yaml"];
    let keys: Vec<(&str, String)> = dev.iter().map(|e| (e.values_key.as_str(), e.layer_path.join("."))).collect();
    assert_eq!(keys, vec![("image.pullPolicy", "spec.sources.0.helm.valuesObject".to_string())]);
    let prod: Vec<&str> = planned.edits["prod/web.yaml"].iter().map(|e| e.values_key.as_str()).collect();
    assert_eq!(prod, vec!["global.imagePullSecrets", "image.pullPolicy", "imagePullSecrets"], "in key order");
    // Made in the text: valuesObject created under helm, the file otherwise as it was.
    let text = app("dev");
    let documents = yaml::parse(&text).unwrap();
    let changes = apply_edits(&text, &documents, dev).expect("edits apply");
    let splices: Vec<_> = changes.iter().map(|c| c.splice.clone()).collect();
    let new = crate::edit::apply(&text, &splices);
    assert!(
        new.contains("      valueFiles: [$values/base.yaml]\n      valuesObject:\n        image:\n          pullPolicy: Always\n"),
        "{new}"
    );
}

#[test]
fn argo_cd_value_files_that_may_be_missing_or_are_fetched() {
    let text = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: web}\nspec:\n  source:\n    path: charts/web\n    helm:\n      ignoreMissingValueFiles: true\n      valueFiles: [values-prod.yaml, https://example.com/v.yaml]\n";
    let found = find("prod/web.yaml", &yaml::parse(text).unwrap());
    let release = &found[0];
    assert!(release.layers[0].optional, "{:?}", release.layers);
    let reasons: Vec<&str> = release.blockers.iter().map(|(_, r)| r.as_str()).collect();
    assert_eq!(
        reasons,
        vec!["values file `https://example.com/v.yaml` is fetched from a URL, not read from this repository"]
    );
    // A missing optional file is no values at all, not a reason to give up.
    let text = text.replace(", https://example.com/v.yaml", "");
    let releases = find("prod/web.yaml", &yaml::parse(&text).unwrap());
    let mut sources = Sources::default();
    sources.files.insert("prod/web.yaml".to_string(), source(&text));
    sources.files.insert("charts/web/values-prod.yaml".to_string(), Err(NOT_IN_REPOSITORY.to_string()));
    let rules = rules();
    let env_of_file = |path: &str| rules.env_for_path(path).ok().flatten();
    let planned = plan_releases(&releases, &sources, &rules, &env_of_file, &|_| true);
    // The chart directory was not read, which is why it is not covered; the missing file is not.
    let reasons: Vec<&str> = planned.not_covered.iter().map(|(_, n)| n.reason.as_str()).collect();
    assert_eq!(reasons, vec!["chart directory `charts/web` is not in the repository"]);
}
