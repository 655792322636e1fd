use super::*;
use crate::yaml::parse;

fn edit(text: &str, f: impl Fn(&TextStyle<'_>, &Node) -> Vec<Splice>) -> String {
    let docs = parse(text).expect("parses");
    let style = TextStyle::new(text);
    let splices = f(&style, &docs[0].root);
    apply(text, &splices)
}

fn container(root: &Node) -> &Node {
    &root.get("spec").unwrap().get("containers").unwrap().items()[0]
}

#[test]
fn policy_goes_after_image_line_with_its_comment() {
    let text = "spec:\n  containers:\n  - name: a # é\n    image: nginx   # pinned ☕\n    ports: []\n";
    let out = edit(text, |s, root| vec![insert_policy(s, container(root), "Always").unwrap()]);
    assert_eq!(out, "spec:\n  containers:\n  - name: a # é\n    image: nginx   # pinned ☕\n    imagePullPolicy: Always\n    ports: []\n");
}

#[test]
fn policy_copies_quotes_and_crlf() {
    let text = "spec:\r\n  containers:\r\n    - \"image\": 'nginx'\r\n";
    let out = edit(text, |s, root| vec![insert_policy(s, container(root), "Never").unwrap()]);
    assert_eq!(out, "spec:\r\n  containers:\r\n    - \"image\": 'nginx'\r\n      \"imagePullPolicy\": 'Never'\r\n");
}

#[test]
fn policy_on_last_line_without_newline() {
    let text = "spec:\n  containers:\n  - image: nginx";
    let out = edit(text, |s, root| vec![insert_policy(s, container(root), "Always").unwrap()]);
    assert_eq!(out, "spec:\n  containers:\n  - image: nginx\n    imagePullPolicy: Always");
}

#[test]
fn policy_after_an_empty_image_in_a_flow_container_keeps_it_a_key() {
    // Found by the `manifest` fuzz target: `{image:, …}` is refused by libyaml and kubectl.
    let text = "spec:\n  containers:\n  - {image:}\n";
    let out = edit(text, |s, root| vec![insert_policy(s, container(root), "Always").unwrap()]);
    assert_eq!(out, "spec:\n  containers:\n  - {image: , imagePullPolicy: Always}\n");
}

#[test]
fn policy_in_flow_container() {
    let text = "spec:\n  containers:\n  - {name: s, image: busybox, args: [sleep, \"3600\"]}\n";
    let out = edit(text, |s, root| vec![insert_policy(s, container(root), "IfNotPresent").unwrap()]);
    assert_eq!(
        out,
        "spec:\n  containers:\n  - {name: s, image: busybox, imagePullPolicy: IfNotPresent, args: [sleep, \"3600\"]}\n"
    );
}

#[test]
fn policy_in_multiline_json_container() {
    let text = "{\"spec\": {\"containers\": [{\n  \"name\": \"a\",\n  \"image\": \"b\",\n  \"args\": []\n}]}}\n";
    let out = edit(text, |s, root| vec![insert_policy(s, container(root), "Always").unwrap()]);
    assert_eq!(out, "{\"spec\": {\"containers\": [{\n  \"name\": \"a\",\n  \"image\": \"b\",\n  \"imagePullPolicy\": \"Always\",\n  \"args\": []\n}]}}\n");
}

#[test]
fn policy_beside_a_helm_quoted_image_stays_plain() {
    // `helm template` quotes the image of its default chart, never the name.
    let text = "spec:\n  containers:\n  - name: web\n    image: \"ghcr.io/acme/web:1.0\"\n";
    let out = edit(text, |s, root| vec![insert_policy(s, container(root), "IfNotPresent").unwrap()]);
    assert_eq!(
        out,
        "spec:\n  containers:\n  - name: web\n    image: \"ghcr.io/acme/web:1.0\"\n    imagePullPolicy: IfNotPresent\n"
    );
}

#[test]
fn policy_quoted_when_the_whole_container_is() {
    let text = "spec:\n  containers:\n  - 'name': 'web'\n    'image': 'nginx:1'\n    'tty': true\n    'ports': [{'containerPort': 80}]\n";
    let out = edit(text, |s, root| vec![insert_policy(s, container(root), "Always").unwrap()]);
    assert_eq!(out, "spec:\n  containers:\n  - 'name': 'web'\n    'image': 'nginx:1'\n    'imagePullPolicy': 'Always'\n    'tty': true\n    'ports': [{'containerPort': 80}]\n");

    let text = "spec:\n  containers:\n  - {\"name\": \"web\", \"image\": \"nginx:1\", \"stdin\": null}\n";
    let out = edit(text, |s, root| vec![insert_policy(s, container(root), "Always").unwrap()]);
    assert_eq!(out, "spec:\n  containers:\n  - {\"name\": \"web\", \"image\": \"nginx:1\", \"imagePullPolicy\": \"Always\", \"stdin\": null}\n");
}

#[test]
fn policy_key_and_value_quoting_are_decided_apart() {
    // Keys all quoted, one string value plain: quoted key, plain value.
    let text = "spec:\n  containers:\n  - {\"name\": web, \"image\": \"nginx:1\"}\n";
    let out = edit(text, |s, root| vec![insert_policy(s, container(root), "Never").unwrap()]);
    assert_eq!(out, "spec:\n  containers:\n  - {\"name\": web, \"image\": \"nginx:1\", \"imagePullPolicy\": Never}\n");

    // Keys plain, every string value quoted: plain key, the image value's quotes.
    // Nested values (`args`) do not count.
    let text = "spec:\n  containers:\n  - name: \"web\"\n    image: 'nginx:1'\n    args: [plain]\n";
    let out = edit(text, |s, root| vec![insert_policy(s, container(root), "Never").unwrap()]);
    assert_eq!(out, "spec:\n  containers:\n  - name: \"web\"\n    image: 'nginx:1'\n    imagePullPolicy: 'Never'\n    args: [plain]\n");

    // A block scalar is a string value that is not quoted.
    let text = "spec:\n  containers:\n  - name: \"web\"\n    image: 'nginx:1'\n    workingDir: |-\n      /srv\n";
    let out = edit(text, |s, root| vec![insert_policy(s, container(root), "Never").unwrap()]);
    assert_eq!(out, "spec:\n  containers:\n  - name: \"web\"\n    image: 'nginx:1'\n    imagePullPolicy: Never\n    workingDir: |-\n      /srv\n");
}

#[test]
fn replace_keeps_quotes() {
    let text = "imagePullPolicy: 'Never' # keep\n";
    let out = edit(text, |_, root| vec![replace_scalar(root.get("imagePullPolicy").unwrap(), "Always")]);
    assert_eq!(out, "imagePullPolicy: 'Always' # keep\n");
}

#[test]
fn secrets_new_key_kubectl_style() {
    let text = "spec:\n  containers:\n  - image: a\n  restartPolicy: Always\n# trailing\n";
    let out = edit(text, |s, root| {
        vec![append_secrets(
            s,
            root.get("spec").unwrap(),
            &["x".into(), "w".into()],
            ListStyle::of_document(s, root).unwrap_or_default(),
        )
        .unwrap()]
    });
    assert_eq!(out, "spec:\n  containers:\n  - image: a\n  restartPolicy: Always\n  imagePullSecrets:\n  - name: x\n  - name: w\n# trailing\n");
}

#[test]
fn secret_names_plain_yaml_would_not_read_as_strings_are_quoted() {
    // go-yaml v2 (kubectl) reads `y` and `on` as booleans; every reader reads `42` and `1e3` as numbers.
    for name in ["y", "N", "on", "Off", "true", "null", "42", "0", "1e3", "1.5", "0x1f", "2001-12-14"] {
        assert!(!plain_reads_as_string(name), "{name}");
        assert_eq!(quoted(name, None), format!("\"{name}\""));
    }
    for name in ["regcred", "a-b.c", "yes-please", "nothing", "x1"] {
        assert!(plain_reads_as_string(name), "{name}");
        assert_eq!(quoted(name, None), name);
    }
    assert_eq!(quoted("it's", Some(ScalarStyle::SingleQuoted)), "'it''s'");
    let text = "spec:\n  containers:\n  - image: a\n  imagePullSecrets:\n  - name: a\n";
    let out = edit(text, |s, root| {
        vec![append_secrets(s, root.get("spec").unwrap(), &["1".into(), "y".into()], ListStyle::default()).unwrap()]
    });
    assert_eq!(
        out,
        "spec:\n  containers:\n  - image: a\n  imagePullSecrets:\n  - name: a\n  - name: \"1\"\n  - name: \"y\"\n"
    );
}

#[test]
fn secrets_new_key_indented_style_and_no_final_newline() {
    let text = "spec:\n    containers:\n        - image: a";
    let out = edit(text, |s, root| {
        vec![append_secrets(
            s,
            root.get("spec").unwrap(),
            &["x".into()],
            ListStyle::of_document(s, root).unwrap_or_default(),
        )
        .unwrap()]
    });
    assert_eq!(out, "spec:\n    containers:\n        - image: a\n    imagePullSecrets:\n        - name: x");
}

#[test]
fn secrets_extend_block_and_flow_lists() {
    let text = "a:\n  imagePullSecrets:\n    - name: \"old\"\nb:\n  imagePullSecrets: [{name: old}]\nc:\n  imagePullSecrets: []\nd:\n  imagePullSecrets:\n  containers:\n  - image: x\n";
    let out = edit(text, |s, root| {
        ["a", "b", "c", "d"]
            .iter()
            .map(|k| {
                append_secrets(
                    s,
                    root.get(k).unwrap(),
                    &["new".into()],
                    ListStyle::of_document(s, root).unwrap_or_default(),
                )
                .unwrap()
            })
            .collect()
    });
    assert_eq!(out, "a:\n  imagePullSecrets:\n    - name: \"old\"\n    - name: \"new\"\nb:\n  imagePullSecrets: [{name: old}, {name: new}]\nc:\n  imagePullSecrets: [{name: new}]\nd:\n  imagePullSecrets:\n  - name: new\n  containers:\n  - image: x\n");
}

#[test]
fn secrets_in_flow_pod_spec() {
    let text = "spec: {containers: [{image: a}]}\n";
    let out = edit(text, |s, root| {
        vec![append_secrets(
            s,
            root.get("spec").unwrap(),
            &["x".into()],
            ListStyle::of_document(s, root).unwrap_or_default(),
        )
        .unwrap()]
    });
    assert_eq!(out, "spec: {containers: [{image: a}], imagePullSecrets: [{name: x}]}\n");
}

// Issue 9, item 11: a lone `\r` ends a line like `\n` does; new lines get the
// break of the line they follow.

#[test]
fn lone_cr_lines_get_lone_cr_insertions() {
    let text = "spec:\r  containers:\r  - name: a\r    image: nginx\r    ports: []\r";
    let out = edit(text, |s, root| vec![insert_policy(s, container(root), "Always").unwrap()]);
    assert_eq!(
        out,
        "spec:\r  containers:\r  - name: a\r    image: nginx\r    imagePullPolicy: Always\r    ports: []\r"
    );

    let text = "spec:\r  containers:\r  - image: nginx\r  restartPolicy: Never";
    let out = edit(text, |s, root| {
        let spec = root.get("spec").unwrap();
        vec![append_secrets(s, spec, &["regcred".to_string()], ListStyle::default()).unwrap()]
    });
    assert_eq!(
        out,
        "spec:\r  containers:\r  - image: nginx\r  restartPolicy: Never\r  imagePullSecrets:\r  - name: regcred"
    );
}

#[test]
fn text_style_sees_every_yaml_line_break() {
    let text = "\u{feff}a: é\rb: x\r\nc: y\nd";
    let style = TextStyle::new(text);
    assert_eq!(style.eol_at(0), "\r");
    assert_eq!(style.line_end(text.find('b').unwrap()), text.find("\r\n").unwrap());
    assert_eq!(style.eol_at(text.find('b').unwrap()), "\r\n");
    assert_eq!(style.eol_at(text.find('c').unwrap()), "\n");
    assert_eq!(style.eol_at(text.find('d').unwrap()), "\r", "a last line without a break gets the file's first");
    assert_eq!(style.column(text.find('b').unwrap()), 0);
    assert_eq!(style.column(text.find('é').unwrap()), 3, "the BOM is not a column");
    assert_eq!(style.column(text.find('x').unwrap()), 3);
}

#[test]
fn mixed_breaks_keep_each_line_its_own() {
    // One stray `\r` in an LF file is a line break to YAML: the policy goes
    // after the image line and ends with that line's own `\n`.
    let text = "spec:\n  containers:\r  - image: nginx\n    name: a\n";
    let out = edit(text, |s, root| vec![insert_policy(s, container(root), "Always").unwrap()]);
    assert_eq!(out, "spec:\n  containers:\r  - image: nginx\n    imagePullPolicy: Always\n    name: a\n");
}

#[test]
fn composed_splices_do_what_two_rounds_do() {
    // Every pair of small splice sets on a short text, made one after the other.
    let original = "abcdefgh";
    let sets = |len: usize| -> Vec<Vec<Splice>> {
        let mut sets = vec![Vec::new()];
        for start in 0..=len {
            for end in start..=(start + 2).min(len) {
                for text in ["", "X", "YZ\n"] {
                    if start == end && text.is_empty() {
                        continue;
                    }
                    sets.push(vec![Splice::replace(start..end, text.to_string())]);
                    if end < len {
                        sets.push(vec![
                            Splice::replace(start..end, text.to_string()),
                            Splice::insert_at(end + 1, "-".to_string()),
                        ]);
                    }
                }
            }
        }
        sets
    };
    let mut checked = 0;
    for first in sets(original.len()) {
        let middle = apply(original, &first);
        for second in sets(middle.len()) {
            let composed = compose(original, &first, &second);
            assert!(
                composed.windows(2).all(|w| w[0].range.end <= w[1].range.start),
                "{first:?} then {second:?} gave {composed:?}"
            );
            assert_eq!(apply(original, &composed), apply(&middle, &second), "{first:?} then {second:?}");
            checked += 1;
        }
    }
    assert!(checked > 1000, "{checked}");
}

#[test]
fn keys_with_a_tag_or_an_anchor_give_their_column_where_the_properties_start() {
    // Found by the `manifest` fuzz target: `! containers:` put the new
    // `imagePullSecrets` two columns deeper than the pod spec's keys.
    let text = "spec:\n   ! containers:\n   - e: 1\n";
    let out = edit(text, |s, root| {
        vec![append_secrets(s, root.get("spec").unwrap(), &["r".into()], ListStyle::default()).unwrap()]
    });
    assert_eq!(
        out, "spec:\n   ! containers:\n   - e: 1\n   imagePullSecrets:\n   - name: r\n",
        "the dash offset of `containers`"
    );
    let text = "c:\n  &a !t image: x # n\n";
    let out = edit(text, |s, root| vec![insert_policy(s, root.get("c").unwrap(), "Never").unwrap()]);
    assert_eq!(out, "c:\n  &a !t image: x # n\n  imagePullPolicy: Never\n");
    let style = TextStyle::new("- !x a\nb: &c d\n");
    assert_eq!(style.properties_start(5), 2, "after `- `, the tag");
    assert_eq!(style.properties_start(13), 10, "the anchor, not the key before it");
}
