use super::*;
use crate::edit::apply;
use crate::yaml::parse;

type Edit<'a> = dyn Fn(&TextStyle<'_>, &Node) -> Result<Vec<Splice>, EditRefusal> + 'a;

/// The edit's output, or its refusal.
fn run(text: &str, edit: &Edit<'_>) -> Result<String, EditRefusal> {
    let documents = parse(text).expect("the input parses");
    let style = TextStyle::new(text);
    let splices = edit(&style, &documents[0].root)?;
    Ok(apply(text, &splices))
}

/// Checks the exact output, that the re-parsed documents differ from the
/// input's only at `changed` (a key path from the document root), and that
/// a second edit changes nothing.
fn check(text: &str, expected: &str, changed: &[&str], edit: &Edit<'_>) {
    let out = run(text, edit).expect("the edit is made");
    assert_eq!(out, expected);
    let old = parse(text).expect("the input parses");
    let new = parse(&out).expect("the output parses");
    assert_eq!(old.len(), new.len(), "as many documents");
    for (index, (old, new)) in old.iter().zip(&new).enumerate() {
        let allowed = if index == 0 { Some(changed) } else { None };
        if let Err(problem) = same_except(&old.root, &new.root, allowed) {
            panic!("document {}: {problem}\n{out}", index + 1);
        }
    }
    assert_eq!(run(&out, edit).expect("edits again"), out, "a second edit changes nothing");
}

/// Compares two trees. `allowed` is the path that may differ: `None` means
/// nothing may, an empty path that anything may.
fn same_except(old: &Node, new: &Node, allowed: Option<&[&str]>) -> Result<(), String> {
    let path = match allowed {
        Some([]) => return Ok(()),
        Some(path) => Some(path),
        None => None,
    };
    match (&old.kind, &new.kind) {
        (NodeKind::Mapping { entries: a, .. }, NodeKind::Mapping { entries: b, .. }) => {
            let on_path = |key: &Node| path.is_some_and(|p| key.as_str() == Some(p[0]));
            let kept_old: Vec<&(Node, Node)> = a.iter().filter(|(k, _)| !on_path(k)).collect();
            let kept_new: Vec<&(Node, Node)> = b.iter().filter(|(k, _)| !on_path(k)).collect();
            if kept_old.len() != kept_new.len() {
                return Err(format!("{} keys instead of {}", kept_new.len(), kept_old.len()));
            }
            for ((ka, va), (kb, vb)) in kept_old.into_iter().zip(kept_new) {
                same_except(ka, kb, None)?;
                same_except(va, vb, None).map_err(|e| format!("{}: {e}", ka.as_str().unwrap_or("?")))?;
            }
            if let Some(path) = path {
                let (old_value, new_value) = (old.get(path[0]), new.get(path[0]));
                match (old_value, new_value) {
                    (Some(a), Some(b)) => {
                        same_except(a, b, Some(&path[1..])).map_err(|e| format!("{}: {e}", path[0]))?
                    }
                    (None, Some(_)) => {}
                    (_, None) => return Err(format!("`{}` is gone", path[0])),
                }
            }
            Ok(())
        }
        // An empty key on the path may get the rest of the path.
        (NodeKind::Scalar { value, .. }, _) if value.is_empty() && path.is_some() => Ok(()),
        // A step of the path may be an index into a sequence.
        (NodeKind::Sequence { items: a, .. }, NodeKind::Sequence { items: b, .. }) if a.len() == b.len() => {
            let index_on_path = path.and_then(|p| p[0].parse::<usize>().ok());
            a.iter().zip(b).enumerate().try_for_each(|(i, (x, y))| {
                let allowed = if index_on_path == Some(i) { path.map(|p| &p[1..]) } else { None };
                same_except(x, y, allowed)
            })
        }
        (NodeKind::Scalar { value: a, style: sa }, NodeKind::Scalar { value: b, style: sb }) if a == b && sa == sb => {
            Ok(())
        }
        (NodeKind::Alias, NodeKind::Alias) => Ok(()),
        _ => Err(format!("{:?} became {:?}", old.kind, new.kind)),
    }
}

fn at<'n>(root: &'n Node, path: &[&str]) -> &'n Node {
    path.iter().fold(root, |node, key| node.get(key).expect("the path is there"))
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(ToString::to_string).collect()
}

fn refusal(text: &str, edit: &Edit<'_>) -> EditRefusal {
    run(text, edit).expect_err("the edit is refused")
}

const POLICY: [&str; 2] = ["image", "pullPolicy"];

#[test]
fn replaces_an_existing_scalar_keeping_comments() {
    let text = "image:\n  repository: nginx # é\n  pullPolicy: IfNotPresent # pinned ☕\n  tag: \"1\"\n";
    check(
        text,
        "image:\n  repository: nginx # é\n  pullPolicy: Always # pinned ☕\n  tag: \"1\"\n",
        &POLICY,
        &|s, root| set_scalar(s, root, &POLICY, "Always"),
    );
}

#[test]
fn replaces_a_quoted_scalar_keeping_its_quotes() {
    let text = "image:\n  pullPolicy: \"IfNotPresent\"\nother:\n  pullPolicy: 'Never'\n";
    check(text, "image:\n  pullPolicy: \"Always\"\nother:\n  pullPolicy: 'Never'\n", &POLICY, &|s, root| {
        set_scalar(s, root, &POLICY, "Always")
    });
    check(
        text,
        "image:\n  pullPolicy: \"IfNotPresent\"\nother:\n  pullPolicy: 'Always'\n",
        &["other", "pullPolicy"],
        &|s, root| set_scalar(s, root, &["other", "pullPolicy"], "Always"),
    );
}

#[test]
fn fills_an_empty_key() {
    let text = "image:\n  pullPolicy: # set me\n  tag: x\n";
    check(text, "image:\n  pullPolicy: Always # set me\n  tag: x\n", &POLICY, &|s, root| {
        set_scalar(s, root, &POLICY, "Always")
    });
}

#[test]
fn adds_the_last_key_after_the_last_sibling_indent_2() {
    let text = "image:\n  repository: nginx\n  # the tag\n  tag: \"1.0\" # pinned\nreplicas: 1\n";
    check(
        text,
        "image:\n  repository: nginx\n  # the tag\n  tag: \"1.0\" # pinned\n  pullPolicy: Always\nreplicas: 1\n",
        &POLICY,
        &|s, root| set_scalar(s, root, &POLICY, "Always"),
    );
}

#[test]
fn creates_one_to_three_levels_indent_4() {
    let text = "replicas: 1\nservice:\n    port: 80\n";
    check(text, "replicas: 1\nservice:\n    port: 80\nimage:\n    pullPolicy: Always\n", &POLICY, &|s, root| {
        set_scalar(s, root, &POLICY, "Always")
    });
    check(
        text,
        "replicas: 1\nservice:\n    port: 80\n    pullPolicy: Always\n",
        &["service", "pullPolicy"],
        &|s, root| set_scalar(s, root, &["service", "pullPolicy"], "Always"),
    );
    let path = ["controller", "image", "pullPolicy"];
    check(
        text,
        "replicas: 1\nservice:\n    port: 80\ncontroller:\n    image:\n        pullPolicy: Always\n",
        &path,
        &|s, root| set_scalar(s, root, &path, "Always"),
    );
}

#[test]
fn goes_through_an_existing_partial_path() {
    let text =
        "controller:\n    replicas: 1\n    # images below\n    image:\n        tag: v1\n    resources: {}\nfoo: bar\n";
    let path = ["controller", "image", "pullPolicy"];
    check(
        text,
        "controller:\n    replicas: 1\n    # images below\n    image:\n        tag: v1\n        pullPolicy: Never\n    resources: {}\nfoo: bar\n",
        &path,
        &|s, root| set_scalar(s, root, &path, "Never"),
    );
    let path = ["controller", "admission", "image", "pullPolicy"];
    check(
        text,
        "controller:\n    replicas: 1\n    # images below\n    image:\n        tag: v1\n    resources: {}\n    admission:\n        image:\n            pullPolicy: Never\nfoo: bar\n",
        &path,
        &|s, root| set_scalar(s, root, &path, "Never"),
    );
}

#[test]
fn flow_mappings_get_flow_entries() {
    let text = "spec:\n  values: {image: {tag: x}, replicas: 1}\n";
    let values = |root: &Node| at(root, &["spec", "values"]).clone();
    let changed = ["spec", "values", "image", "pullPolicy"];
    check(text, "spec:\n  values: {image: {tag: x, pullPolicy: Always}, replicas: 1}\n", &changed, &|s, root| {
        set_scalar(s, &values(root), &POLICY, "Always")
    });
    let changed = ["spec", "values", "controller", "image", "pullPolicy"];
    check(
        text,
        "spec:\n  values: {image: {tag: x}, replicas: 1, controller: {image: {pullPolicy: Always}}}\n",
        &changed,
        &|s, root| set_scalar(s, &values(root), &changed[2..], "Always"),
    );
    // JSON: keys and string values quoted like all of the mapping's.
    let text = "{\"spec\": {\"values\": {\"image\": {\"tag\": \"x\"}}}}\n";
    let changed = ["spec", "values", "image", "pullPolicy"];
    check(
        text,
        "{\"spec\": {\"values\": {\"image\": {\"tag\": \"x\", \"pullPolicy\": \"Always\"}}}}\n",
        &changed,
        &|s, root| set_scalar(s, &values(root), &POLICY, "Always"),
    );
}

#[test]
fn multi_line_flow_mapping_gets_a_line_of_its_own() {
    let text = "values: {\n  replicas: 1,\n  image: {tag: x},\n}\n";
    check(
        text,
        "values: {\n  replicas: 1,\n  image: {tag: x},\n  global: {pullPolicy: Always},\n}\n",
        &["values", "global", "pullPolicy"],
        &|s, root| set_scalar(s, root.get("values").unwrap(), &["global", "pullPolicy"], "Always"),
    );
}

#[test]
fn empty_values_and_empty_flow_values() {
    let text = "spec:\n  chart: web\n  values:\n  interval: 5m\n";
    let changed = ["spec", "values", "image", "pullPolicy"];
    check(
        text,
        "spec:\n  chart: web\n  values:\n    image:\n      pullPolicy: Always\n  interval: 5m\n",
        &changed,
        &|s, root| set_scalar(s, at(root, &["spec", "values"]), &POLICY, "Always"),
    );
    let text = "spec:\n  values: {}\n  interval: 5m\n";
    check(text, "spec:\n  values: {image: {pullPolicy: Always}}\n  interval: 5m\n", &changed, &|s, root| {
        set_scalar(s, at(root, &["spec", "values"]), &POLICY, "Always")
    });
    let text = "spec:\n  values: { }\n";
    check(text, "spec:\n  values: { image: { pullPolicy: Always } }\n", &changed, &|s, root| {
        set_scalar(s, at(root, &["spec", "values"]), &POLICY, "Always")
    });
}

#[test]
fn creates_values_when_spec_has_none() {
    let text = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n    name: web\nspec:\n    chart:\n        spec:\n            chart: web\n    interval: 5m # often\n---\nkind: Other\n";
    let changed = ["spec", "values", "image", "pullPolicy"];
    check(
        text,
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n    name: web\nspec:\n    chart:\n        spec:\n            chart: web\n    interval: 5m # often\n    values:\n        image:\n            pullPolicy: Always\n---\nkind: Other\n",
        &changed,
        &|s, root| set_scalar_under_key(s, root.get("spec").unwrap(), "values", &POLICY, "Always"),
    );
    // With a `values:` key, the same call edits it.
    let text = "spec:\n  values:\n    image:\n      pullPolicy: Never\n";
    check(text, "spec:\n  values:\n    image:\n      pullPolicy: Always\n", &changed, &|s, root| {
        set_scalar_under_key(s, root.get("spec").unwrap(), "values", &POLICY, "Always")
    });
}

#[test]
fn crlf_and_no_final_newline() {
    let text = "spec:\r\n  values:\r\n    replicas: 1\r\n";
    let changed = ["spec", "values", "image", "pullPolicy"];
    check(
        text,
        "spec:\r\n  values:\r\n    replicas: 1\r\n    image:\r\n      pullPolicy: Always\r\n",
        &changed,
        &|s, root| set_scalar(s, at(root, &["spec", "values"]), &POLICY, "Always"),
    );
    let text = "spec:\n  values:\n    replicas: 1";
    check(text, "spec:\n  values:\n    replicas: 1\n    image:\n      pullPolicy: Always", &changed, &|s, root| {
        set_scalar(s, at(root, &["spec", "values"]), &POLICY, "Always")
    });
    let text = "spec:\r\n  chart: x";
    check(text, "spec:\r\n  chart: x\r\n  values:\r\n    image:\r\n      pullPolicy: Always", &changed, &|s, root| {
        set_scalar_under_key(s, root.get("spec").unwrap(), "values", &POLICY, "Always")
    });
}

#[test]
fn lists_of_names_and_of_mappings_are_created() {
    let text = "image:\n  tag: x\n";
    let path = ["global", "imagePullSecrets"];
    check(text, "image:\n  tag: x\nglobal:\n  imagePullSecrets:\n    - regcred\n    - other\n", &path, &|s, root| {
        set_list(s, root, &path, &names(&["regcred", "other", "regcred"]), Shape::Names)
    });
    check(text, "image:\n  tag: x\nglobal:\n  imagePullSecrets:\n    - name: regcred\n", &path, &|s, root| {
        set_list(s, root, &path, &names(&["regcred"]), Shape::Mappings)
    });
    // The file's own dash style (kubectl's, at the key's column) is followed.
    let text = "tolerations:\n- key: a\nglobal:\n  imagePullSecrets:\n";
    check(text, "tolerations:\n- key: a\nglobal:\n  imagePullSecrets:\n  - name: regcred\n", &path, &|s, root| {
        set_list(s, root, &path, &names(&["regcred"]), Shape::Mappings)
    });
    let text = "global: {imagePullSecrets: }\n";
    // The space that was after the colon stays where it was.
    check(text, "global: {imagePullSecrets: [regcred] }\n", &path, &|s, root| {
        set_list(s, root, &path, &names(&["regcred"]), Shape::Names)
    });
    let text = "values: {}\n";
    check(text, "values: {imagePullSecrets: [{name: a}, {name: b}]}\n", &["values", "imagePullSecrets"], &|s, root| {
        set_list(s, root.get("values").unwrap(), &["imagePullSecrets"], &names(&["a", "b"]), Shape::Mappings)
    });
}

#[test]
fn existing_lists_keep_their_entries() {
    // A new name is written like the last one.
    let text = "imagePullSecrets:\n  - 'old' # first\n  - regcred\nfoo: 1\n";
    check(
        text,
        "imagePullSecrets:\n  - 'old' # first\n  - regcred\n  - new\nfoo: 1\n",
        &["imagePullSecrets"],
        &|s, root| set_list(s, root, &["imagePullSecrets"], &names(&["regcred", "new"]), Shape::Names),
    );
    let text = "imagePullSecrets:\n- name: regcred\nfoo: 1\n";
    check(text, "imagePullSecrets:\n- name: regcred\n- name: new\nfoo: 1\n", &["imagePullSecrets"], &|s, root| {
        set_list(s, root, &["imagePullSecrets"], &names(&["new", "regcred"]), Shape::Mappings)
    });
    let text = "imagePullSecrets: [{name: regcred}]\n";
    check(text, "imagePullSecrets: [{name: regcred}, {name: new}]\n", &["imagePullSecrets"], &|s, root| {
        set_list(s, root, &["imagePullSecrets"], &names(&["new"]), Shape::Mappings)
    });
    let text = "imagePullSecrets: []\n";
    check(text, "imagePullSecrets: [a, b]\n", &["imagePullSecrets"], &|s, root| {
        set_list(s, root, &["imagePullSecrets"], &names(&["a", "b"]), Shape::Names)
    });
    // Everything already there: nothing to do.
    let text = "imagePullSecrets: [a, b]\n";
    assert_eq!(
        run(text, &|s, root| set_list(s, root, &["imagePullSecrets"], &names(&["b"]), Shape::Names)).unwrap(),
        text
    );
}

#[test]
fn helm_release_values() {
    let text = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: ingress\nspec:\n  interval: 10m\n  chart:\n    spec:\n      chart: ingress-nginx\n      version: \"4.x\"\n  values:\n    controller:\n      replicaCount: 2 # HA\n      image:\n        tag: v1.9\n    # secrets for the mirror\n  install:\n    remediation: {retries: 3}\n";
    let values = |root: &Node| at(root, &["spec", "values"]).clone();
    let path = ["controller", "image", "pullPolicy"];
    check(
        text,
        &text.replace("        tag: v1.9\n", "        tag: v1.9\n        pullPolicy: IfNotPresent\n"),
        &["spec", "values", "controller", "image", "pullPolicy"],
        &|s, root| set_scalar(s, &values(root), &path, "IfNotPresent"),
    );
    let path = ["imagePullSecrets"];
    check(
        text,
        &text.replace("        tag: v1.9\n", "        tag: v1.9\n    imagePullSecrets:\n      - name: mirror\n"),
        &["spec", "values", "imagePullSecrets"],
        &|s, root| set_list(s, &values(root), &path, &names(&["mirror"]), Shape::Mappings),
    );
}

#[test]
fn argo_cd_values_object() {
    let text = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nspec:\n  source:\n    repoURL: https://charts.example.com\n    chart: web\n    helm:\n      releaseName: web\n      valuesObject:\n        image:\n          repository: ghcr.io/acme/web\n        global:\n          imagePullSecrets:\n          - old\n  destination:\n    namespace: web\n";
    let values = |root: &Node| at(root, &["spec", "source", "helm", "valuesObject"]).clone();
    check(
        text,
        &text.replace("ghcr.io/acme/web\n", "ghcr.io/acme/web\n          pullPolicy: Always\n"),
        &["spec", "source", "helm", "valuesObject", "image", "pullPolicy"],
        &|s, root| set_scalar(s, &values(root), &POLICY, "Always"),
    );
    check(
        text,
        &text.replace("          - old\n", "          - old\n          - regcred\n"),
        &["spec", "source", "helm", "valuesObject", "global", "imagePullSecrets"],
        &|s, root| {
            set_list(s, &values(root), &["global", "imagePullSecrets"], &names(&["old", "regcred"]), Shape::Names)
        },
    );
    // No `valuesObject` yet: it is written under `helm`.
    let text = "spec:\n  source:\n    helm:\n      releaseName: web\n";
    check(
        text,
        "spec:\n  source:\n    helm:\n      releaseName: web\n      valuesObject:\n        image:\n          pullPolicy: Always\n",
        &["spec", "source", "helm", "valuesObject", "image", "pullPolicy"],
        &|s, root| set_scalar_under_key(s, at(root, &["spec", "source", "helm"]), "valuesObject", &POLICY, "Always"),
    );
}

#[test]
fn refuses_what_it_cannot_edit_exactly() {
    let policy = |s: &TextStyle<'_>, root: &Node| set_scalar(s, root, &POLICY, "Always");
    let cases: &[(&str, &str)] = &[
        ("image: nginx\n", "`image` is a scalar"),
        ("image:\n- a\n", "`image` is a sequence"),
        ("image: ~\n", "explicit `null`"),
        ("base: &b {tag: x}\nimage: *b\n", "`image` is an alias"),
        ("base: &b {tag: x}\nimage:\n  <<: *b\n", "merge key"),
        ("image: !!map\n  tag: x\n", "a tag"),
        ("image: &i\n  tag: x\n", "an anchor"),
        ("image:\n  pullPolicy: !!str Never\n", "a tag"),
        ("image:\n  pullPolicy: |\n    Never\n", "block scalar"),
        ("image:\n  pullPolicy: {a: b}\n", "not a scalar"),
        ("image:\n  notes: |+\n    kept\n\nreplicas: 1\n", "keep-chomped"),
        ("!!str image:\n  tag: x\n", "`image` is written with an anchor, a tag"),
        ("? image\n: {tag: x}\n", "explicit key"),
        ("? other\n: 1\n", "explicit key"),
    ];
    for (text, message) in cases {
        let refused = refusal(text, &policy);
        assert!(refused.message.contains(message), "{text:?}: {refused:?}");
        assert!(refused.offset <= text.len());
    }
    let tagged = "image:\n  pullPolicy: !!str Never\n";
    assert_eq!(refusal(tagged, &policy).offset, tagged.find('!').unwrap());
    // The values mapping itself is checked when it is reached from its key.
    let text = "spec:\n  values: &v\n    image: {}\n";
    let refused =
        refusal(text, &|s, root| set_scalar_under_key(s, root.get("spec").unwrap(), "values", &POLICY, "Always"));
    assert_eq!(refused.offset, text.find('&').unwrap());
    // A tag or an anchor on an empty value follows its span.
    for text in ["spec:\n  values: !!map # c\n", "spec:\n  values: &v\n", "spec: {values: !!null }\n"] {
        let refused = refusal(text, &|s, root| set_scalar(s, at(root, &["spec", "values"]), &POLICY, "Always"));
        assert_eq!(refused.offset, text.find(['!', '&']).unwrap(), "{text:?}");
        let refused =
            refusal(text, &|s, root| set_scalar_under_key(s, root.get("spec").unwrap(), "values", &POLICY, "Always"));
        assert_eq!(refused.offset, text.find(['!', '&']).unwrap(), "{text:?}");
    }
    let text = "image:\n  tag: x\n";
    for bad in ["true", "yes", "1.5", "null", "a b", "\"x\"", "", "-x"] {
        let refused = refusal(text, &|s, root| set_scalar(s, root, &POLICY, bad));
        assert!(refused.message.starts_with(&format!("`{bad}`")), "{bad}: {refused:?}");
    }
    let list =
        |shape: Shape| move |s: &TextStyle<'_>, root: &Node| set_list(s, root, &["secrets"], &names(&["a"]), shape);
    assert!(refusal("secrets:\n- name: a\n", &list(Shape::Names)).message.contains("not a plain name"));
    assert!(refusal("secrets: [a]\n", &list(Shape::Mappings)).message.contains("not a `name:` mapping"));
    assert!(refusal("secrets: a\n", &list(Shape::Names)).message.contains("not a list"));
    assert!(refusal("x: &a b\nsecrets: [*a]\n", &list(Shape::Names)).message.contains("alias"));
    assert!(refusal("secrets: [a]\n", &|s, root| set_list(s, root, &[], &names(&["a"]), Shape::Names))
        .message
        .contains("empty values path"));
}

#[test]
fn refuses_a_duplicate_key() {
    // The parser refuses duplicates already; a tree built otherwise is refused here too.
    let text = "image:\n  tag: x\nother:\n  tag: y\n";
    let mut root = parse(text).unwrap().remove(0).root;
    if let NodeKind::Mapping { entries, .. } = &mut root.kind {
        entries[1].0.kind = NodeKind::Scalar { value: "image".to_string(), style: ScalarStyle::Plain };
    }
    let style = TextStyle::new(text);
    let refused = set_scalar(&style, &root, &POLICY, "Always").unwrap_err();
    assert_eq!(refused.offset, text.find("other").unwrap());
    assert_eq!(refused.message, "duplicate key `image`");
}

#[test]
fn bom_multibyte_comments_and_explicit_null_leaf() {
    let text = "\u{feff}# valeurs é\nreplicas: 1 # ☕\nimage:\n  pullPolicy: ~ # à régler\n";
    check(
        text,
        "\u{feff}# valeurs é\nreplicas: 1 # ☕\nimage:\n  pullPolicy: Always # à régler\n",
        &POLICY,
        &|s, root| set_scalar(s, root, &POLICY, "Always"),
    );
    let text = "\u{feff}replicas: 1 # ☕";
    check(text, "\u{feff}replicas: 1 # ☕\nimage:\n  pullPolicy: Always", &POLICY, &|s, root| {
        set_scalar(s, root, &POLICY, "Always")
    });
}

#[test]
fn values_in_a_sequence_item_and_quoted_keys() {
    // A values mapping reached through a list entry: the dash is not a column of the key.
    let text = "releases:\n  - name: web\n    values:\n";
    check(
        text,
        "releases:\n  - name: web\n    values:\n      image:\n        pullPolicy: Always\n",
        &["releases", "0", "values", "image", "pullPolicy"],
        &|s, root| set_scalar(s, root.get("releases").unwrap().items()[0].get("values").unwrap(), &POLICY, "Always"),
    );
    // Every key quoted: new keys are too.
    let text = "\"image\":\n  \"tag\": x\n";
    check(text, "\"image\":\n  \"tag\": x\n  \"pullPolicy\": Always\n", &POLICY, &|s, root| {
        set_scalar(s, root, &POLICY, "Always")
    });
}

#[test]
fn the_tree_check_sees_a_change_off_the_path() {
    let old = parse("image:\n  tag: x\n  pullPolicy: Never\nreplicas: 1\n").unwrap().remove(0).root;
    let moved = parse("image:\n  tag: y\n  pullPolicy: Always\nreplicas: 1\n").unwrap().remove(0).root;
    assert!(same_except(&old, &moved, Some(&POLICY)).is_err(), "`tag` changed");
    let added = parse("image:\n  tag: x\n  pullPolicy: Always\nreplicas: 1\nextra: 1\n").unwrap().remove(0).root;
    assert!(same_except(&old, &added, Some(&POLICY)).is_err(), "a key was added off the path");
    let quoted = parse("image:\n  tag: 'x'\n  pullPolicy: Never\nreplicas: 1\n").unwrap().remove(0).root;
    assert!(same_except(&old, &quoted, Some(&POLICY)).is_err(), "a style changed");
    let policy = parse("image:\n  tag: x\n  pullPolicy: Always\nreplicas: 1\n").unwrap().remove(0).root;
    assert!(same_except(&old, &policy, Some(&POLICY)).is_ok());
}

/// Every edit over a table of shapes, line ends and paths is either refused
/// or re-parses to the wanted value with nothing else changed, and is stable.
#[test]
fn every_edit_of_a_table_of_shapes_is_exact_or_refused() {
    let shapes = [
        "a: 1\n",
        "image:\n  tag: x # c\n# end\n",
        "image: {tag: x}\n",
        "image:\n    pullPolicy: 'Never'\n    tag: x\n",
        "values:\n",
        "values: {}\n",
        "x:\n    y:\n        z: 1\n",
        "{\"image\": {\"tag\": \"x\"}}\n",
        "c:\n  image:\n  other: [a]\n",
        "global:\n  imagePullSecrets:\n  - name: a\nimagePullSecrets: [a]\n",
        "a: |\n  text\nb: >-\n  more\n",
        "k: &a {v: 1}\nimage: *a\n",
        "- a\n",
    ];
    let paths: [&[&str]; 6] = [
        &["image", "pullPolicy"],
        &["pullPolicy"],
        &["c", "image", "pullPolicy"],
        &["imagePullSecrets"],
        &["global", "imagePullSecrets"],
        &["values", "image", "pullPolicy"],
    ];
    let wanted = names(&["a", "regcred"]);
    let mut n_made = 0;
    for shape in shapes {
        let variants = [shape.to_string(), shape.replace('\n', "\r\n"), shape.trim_end_matches('\n').to_string()];
        for text in &variants {
            for path in paths {
                let scalar = |s: &TextStyle<'_>, root: &Node| set_scalar(s, root, path, "Always");
                let names_list = |s: &TextStyle<'_>, root: &Node| set_list(s, root, path, &wanted, Shape::Names);
                let mappings_list = |s: &TextStyle<'_>, root: &Node| set_list(s, root, path, &wanted, Shape::Mappings);
                let under_key =
                    |s: &TextStyle<'_>, root: &Node| set_scalar_under_key(s, root, path[0], &path[1..], "Always");
                let edits: [(&Edit<'_>, bool); 4] =
                    [(&scalar, true), (&names_list, false), (&mappings_list, false), (&under_key, true)];
                for (edit, is_scalar) in edits {
                    let Ok(out) = run(text, edit) else { continue };
                    n_made += 1;
                    let context = format!("{text:?} {path:?}:\n{out}");
                    let old = parse(text).expect("the input parses");
                    let new = parse(&out).unwrap_or_else(|e| panic!("{context}: {e}"));
                    same_except(&old[0].root, &new[0].root, Some(path)).unwrap_or_else(|e| panic!("{context}: {e}"));
                    let target = at(&new[0].root, path);
                    if is_scalar {
                        assert_eq!(target.as_str(), Some("Always"), "{context}");
                    } else {
                        for name in &wanted {
                            let found = target.items().iter().any(|item| {
                                item.as_str() == Some(name.as_str())
                                    || item.get("name").and_then(Node::as_str) == Some(name.as_str())
                            });
                            assert!(found, "{context}: `{name}` missing");
                        }
                    }
                    assert_eq!(run(&out, edit).expect("edits again"), out, "{context}: stable");
                    let ends_with_break = text.ends_with('\n');
                    assert_eq!(out.ends_with('\n'), ends_with_break, "{context}: final line break kept");
                    let n_crlf = |t: &str| t.matches("\r\n").count();
                    let all_crlf = |t: &str| n_crlf(t) == t.matches('\n').count();
                    assert_eq!(n_crlf(&out) > 0, n_crlf(text) > 0, "{context}: line ends kept");
                    assert!(
                        n_crlf(text) == 0 || !all_crlf(text) || all_crlf(&out),
                        "{context}: no bare `\\n` in a CRLF file"
                    );
                }
            }
        }
    }
    assert!(n_made > 150, "most edits are made: {n_made}");
}

#[test]
fn edits_under_different_keys_apply_together() {
    let text = "image:\n  tag: x\nglobal: {}\n";
    let documents = parse(text).unwrap();
    let style = TextStyle::new(text);
    let root = &documents[0].root;
    let mut splices = set_scalar(&style, root, &POLICY, "Always").unwrap();
    splices.extend(set_list(&style, root, &["global", "imagePullSecrets"], &names(&["a"]), Shape::Names).unwrap());
    splices.sort_by_key(|splice| splice.range.start);
    assert_eq!(apply(text, &splices), "image:\n  tag: x\n  pullPolicy: Always\nglobal: {imagePullSecrets: [a]}\n");
}
