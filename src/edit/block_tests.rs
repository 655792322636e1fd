use super::*;
use crate::edit::values::{set_list, set_scalar, Shape};
use crate::yaml::parse;

const VALUES: [&str; 4] = ["spec", "source", "helm", "values"];

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(ToString::to_string).collect()
}

/// One run of the edit a planner makes: `image.pullPolicy: Always` and the
/// pull secret `regcred` in the block at `path`. Returns the new outer text,
/// the inner text the edit meant, and the outer splices.
fn edit_block(outer: &str, path: &[&str]) -> Result<(String, String, Vec<Splice>), EditRefusal> {
    let documents = parse(outer).expect("the outer text parses");
    let node = ScalarAt { document: 0, path }.node_in(&documents).expect("the block is there");
    let block = BlockText::of(outer, node)?;
    let inner = block.inner();
    let inner_documents = parse(inner).expect("the inner text parses");
    // An empty text has no document: its root is the implicit null of `values: |`.
    let nothing = Node { kind: NodeKind::Scalar { value: String::new(), style: ScalarStyle::Plain }, span: 0..0 };
    let root = inner_documents.first().map_or(&nothing, |document| &document.root);
    let style = TextStyle::new(inner);
    let mut splices = set_scalar(&style, root, &["image", "pullPolicy"], "Always")?;
    splices.extend(set_list(&style, root, &["imagePullSecrets"], &names(&["regcred"]), Shape::Mappings)?);
    // Two insertions at one offset keep their order: the policy's key first.
    splices.sort_by_key(|splice| splice.range.start);
    let expected_inner = apply(inner, &splices);
    let outer_splices = block.outer_splices(&splices)?;
    Ok((apply(outer, &outer_splices), expected_inner, outer_splices))
}

/// Checks the exact output, that it reparses with the new keys in the
/// values string, that bytes outside the block are the same, and that a
/// second run changes nothing.
fn check(outer: &str, path: &[&str], expected: &str) {
    let (out, expected_inner, splices) = edit_block(outer, path).expect("the edit is made");
    assert_eq!(out, expected);
    let at = ScalarAt { document: 0, path };
    check_inner(outer, &out, at, &expected_inner).expect("the block holds what was meant");

    let documents = parse(&out).expect("the output parses");
    let value = at.node_in(&documents).expect("the block is there").as_str().expect("a string");
    let values = parse(value).expect("the values string parses");
    let root = &values[0].root;
    assert_eq!(root.get("image").and_then(|image| image.get("pullPolicy")).and_then(Node::as_str), Some("Always"));
    let secrets = root.get("imagePullSecrets").expect("secrets are there").items();
    assert_eq!(secrets.last().and_then(|secret| secret.get("name")).and_then(Node::as_str), Some("regcred"));

    // Every splice is inside the block: from its header's line end to its last content line.
    let original = parse(outer).expect("the input parses");
    let block = at.node_in(&original).expect("the block is there");
    let (inside_start, inside_end) = (yaml::line_end(outer, block.span.start), block.span.end);
    assert!(splices.iter().all(|splice| inside_start <= splice.range.start && splice.range.end <= inside_end));
    assert_eq!(out[..inside_start], outer[..inside_start], "bytes before the block");
    let added = out.len() - outer.len();
    assert_eq!(out[inside_end + added..], outer[inside_end..], "bytes after the block");

    let (again, _, splices) = edit_block(&out, path).expect("edits again");
    assert!(splices.is_empty(), "a second run changes nothing: {splices:?}");
    assert_eq!(again, out);
}

fn refusal(outer: &str, path: &[&str]) -> EditRefusal {
    edit_block(outer, path).expect_err("the edit is refused")
}

#[test]
fn literal_block_gets_nested_and_new_keys_before_the_next_key() {
    let text = "\
spec:
  source:
    helm:
      values: |
        image:
          tag: 1.2
        replicas: 2
    path: chart
";
    let expected = "\
spec:
  source:
    helm:
      values: |
        image:
          tag: 1.2
          pullPolicy: Always
        replicas: 2
        imagePullSecrets:
          - name: regcred
    path: chart
";
    check(text, &VALUES, expected);
}

#[test]
fn crlf_lines_stay_crlf() {
    let text = "spec:\r\n  source:\r\n    helm:\r\n      values: |\r\n        image:\r\n          tag: 1.2\r\n        replicas: 2\r\n    path: chart\r\n";
    let expected = "spec:\r\n  source:\r\n    helm:\r\n      values: |\r\n        image:\r\n          tag: 1.2\r\n          pullPolicy: Always\r\n        replicas: 2\r\n        imagePullSecrets:\r\n          - name: regcred\r\n    path: chart\r\n";
    check(text, &VALUES, expected);
}

#[test]
fn strip_chomped_block_at_the_end_of_a_file_without_final_newline() {
    let text = "spec:\n  source:\n    helm:\n      values: |-\n        image:\n          tag: 1.2";
    let expected = "spec:\n  source:\n    helm:\n      values: |-\n        image:\n          tag: 1.2\n          pullPolicy: Always\n        imagePullSecrets:\n          - name: regcred";
    check(text, &VALUES, expected);
}

#[test]
fn clip_chomped_block_at_the_end_of_a_file_without_final_newline() {
    let text = "spec:\n  source:\n    helm:\n      values: |\n        image: {}";
    let expected = "spec:\n  source:\n    helm:\n      values: |\n        image: {pullPolicy: Always}\n        imagePullSecrets:\n          - name: regcred";
    check(text, &VALUES, expected);
}

#[test]
fn indentation_indicator_is_kept_and_allows_a_more_indented_first_line() {
    let text = "\
spec:
  source:
    helm:
      values: |2
          # the chart's defaults, indented
        image:
          pullPolicy: IfNotPresent
        imagePullSecrets:
        - name: old
";
    let expected = "\
spec:
  source:
    helm:
      values: |2
          # the chart's defaults, indented
        image:
          pullPolicy: Always
        imagePullSecrets:
        - name: old
        - name: regcred
";
    check(text, &VALUES, expected);
}

#[test]
fn comments_tabs_and_deeper_lines_inside_the_block_are_kept() {
    let text = "\
spec:
  source:
    helm:
      values: |   # values for the chart ☕
        # image settings, é
        image:
            repository: nginx\t# four spaces deep
            tag: \"1.2\"
        # replicas

        replicas: 2 # pinned
      valueFiles: [a.yaml]
";
    let expected = "\
spec:
  source:
    helm:
      values: |   # values for the chart ☕
        # image settings, é
        image:
            repository: nginx\t# four spaces deep
            tag: \"1.2\"
            pullPolicy: Always
        # replicas

        replicas: 2 # pinned
        imagePullSecrets:
          - name: regcred
      valueFiles: [a.yaml]
";
    check(text, &VALUES, expected);
}

#[test]
fn keep_chomped_block_keeps_its_trailing_blank_lines_at_the_end() {
    let text =
        "spec:\n  source:\n    helm:\n      values: |+\n        image:\n          tag: 1.2\n\n\n    path: chart\n";
    let expected = "spec:\n  source:\n    helm:\n      values: |+\n        image:\n          tag: 1.2\n          pullPolicy: Always\n        imagePullSecrets:\n          - name: regcred\n\n\n    path: chart\n";
    check(text, &VALUES, expected);
    let documents = parse(expected).expect("parses");
    let value = ScalarAt { document: 0, path: &VALUES }.node_in(&documents).unwrap().as_str().unwrap().to_string();
    assert!(value.ends_with("regcred\n\n\n"), "{value:?}");
}

#[test]
fn folded_block_whose_nested_lines_are_more_indented_is_edited() {
    let text = "spec:\n  source:\n    helm:\n      values: >\n        image:\n          tag: 1.2\n    path: chart\n";
    let expected = "spec:\n  source:\n    helm:\n      values: >\n        image:\n          tag: 1.2\n          pullPolicy: Always\n        imagePullSecrets:\n          - name: regcred\n    path: chart\n";
    check(text, &VALUES, expected);
}

#[test]
fn folded_block_whose_lines_fold_is_refused() {
    let text =
        "spec:\n  source:\n    helm:\n      values: >-\n        replicas: 2\n        image:\n          tag: 1.2\n";
    let refused = refusal(text, &VALUES);
    assert!(refused.message.starts_with("folded values string whose lines fold: "), "{}", refused.message);
    assert_eq!(refused.offset, text.find('>').unwrap());
}

#[test]
fn folded_block_that_the_edit_would_fold_is_refused() {
    // `replicas: 2` and a new `imagePullSecrets:` after it would be joined into one line.
    let text =
        "spec:\n  source:\n    helm:\n      values: >\n        image:\n          tag: 1.2\n        replicas: 2\n";
    let refused = refusal(text, &VALUES);
    assert!(refused.message.starts_with("folded values string whose lines fold: "), "{}", refused.message);
    assert!(refused.message.contains("the edited lines"), "{}", refused.message);
}

#[test]
fn a_line_of_spaces_deeper_than_the_block_stays_at_its_end() {
    // YAML reads the spaces past the block's indentation as a line of the value.
    let text = "spec:\n  source:\n    helm:\n      values: |\n        image: {}\n           \n    path: x\n";
    assert_eq!(block_of(text).inner(), "image: {}\n   ");
    let expected = "spec:\n  source:\n    helm:\n      values: |\n        image: {pullPolicy: Always}\n        imagePullSecrets:\n          - name: regcred\n           \n    path: x\n";
    let (out, expected_inner, _) = edit_block(text, &VALUES).expect("the edit is made");
    assert_eq!(out, expected);
    check_inner(text, &out, ScalarAt { document: 0, path: &VALUES }, &expected_inner)
        .expect("the block holds what was meant");
}

#[test]
fn empty_block_followed_by_a_less_indented_key() {
    let text = "spec:\n  source:\n    helm:\n      values: |\n    path: chart\n";
    let expected = "spec:\n  source:\n    helm:\n      values: |\n        image:\n          pullPolicy: Always\n        imagePullSecrets:\n          - name: regcred\n    path: chart\n";
    check(text, &VALUES, expected);
}

#[test]
fn empty_block_at_the_end_of_the_file() {
    let text = "spec:\n    source:\n        helm:\n            values: |-";
    let expected = "spec:\n    source:\n        helm:\n            values: |-\n                image:\n                  pullPolicy: Always\n                imagePullSecrets:\n                  - name: regcred";
    check(text, &VALUES, expected);
    let with_newline = "spec:\r\n  source:\r\n    helm:\r\n      values: |\r\n";
    let expected = "spec:\r\n  source:\r\n    helm:\r\n      values: |\r\n        image:\r\n          pullPolicy: Always\r\n        imagePullSecrets:\r\n          - name: regcred\r\n";
    check(with_newline, &VALUES, expected);
}

#[test]
fn empty_block_with_an_indentation_indicator() {
    let text = "spec:\n  source:\n    helm:\n      values: |4\n";
    let expected = "spec:\n  source:\n    helm:\n      values: |4\n          image:\n            pullPolicy: Always\n          imagePullSecrets:\n            - name: regcred\n";
    check(text, &VALUES, expected);
}

#[test]
fn block_of_a_source_in_a_list_of_sources() {
    let text = "spec:\n  sources:\n  - repoURL: https://charts.example.com\n    helm:\n      values: |\n        replicas: 2\n  - repoURL: https://git.example.com/values\n";
    let expected = "spec:\n  sources:\n  - repoURL: https://charts.example.com\n    helm:\n      values: |\n        replicas: 2\n        image:\n          pullPolicy: Always\n        imagePullSecrets:\n          - name: regcred\n  - repoURL: https://git.example.com/values\n";
    check(text, &["spec", "sources", "0", "helm", "values"], expected);
}

#[test]
fn plain_and_quoted_values_strings_are_refused() {
    let plain = "spec:\n  source:\n    helm:\n      values: replicas\n";
    assert_eq!(refusal(plain, &VALUES).message, "the values string is not a block scalar (`|`): edit it by hand");
    let quoted = "spec:\n  source:\n    helm:\n      values: \"image:\\n  tag: 1.2\\n\"\n";
    assert_eq!(
        refusal(quoted, &VALUES).message,
        "the values string is quoted, not a block scalar (`|`): edit it by hand"
    );
}

/// The block of `text` at `VALUES`.
fn block_of(text: &str) -> BlockText {
    let documents = parse(text).expect("parses");
    let node = ScalarAt { document: 0, path: &VALUES }.node_in(&documents).expect("the block is there");
    BlockText::of(text, node).expect("a block scalar")
}

#[test]
fn inner_text_is_the_lines_without_the_indentation() {
    let text =
        "spec:\n  source:\n    helm:\n      values: |\n\n        x:\n          - 1\n      \n        y: 2\n\n\nb: 1\n";
    let block = block_of(text);
    assert_eq!(block.inner(), "\nx:\n  - 1\n\ny: 2");
}

#[test]
fn a_replacement_and_a_deleted_line_map_into_the_block() {
    let text = "spec:\n  source:\n    helm:\n      values: |\n        a: 1\n        b: 2\n        c: 3\n";
    let block = block_of(text);
    let inner = block.inner();
    let b = inner.find("b: 2").unwrap();
    let one = inner.find('1').unwrap();
    let splices = [Splice::replace(one..one + 1, "10".to_string()), Splice::replace(b..b + 5, String::new())];
    let outer = block.outer_splices(&splices).expect("mapped");
    assert_eq!(apply(text, &outer), "spec:\n  source:\n    helm:\n      values: |\n        a: 10\n        c: 3\n");
}

#[test]
fn an_indented_first_line_without_an_indicator_is_refused() {
    let text = "spec:\n  source:\n    helm:\n      values: |\n        a: 1\n";
    let block = block_of(text);
    let refused = block.outer_splices(&[Splice::insert_at(0, "  # note\n".to_string())]).expect_err("refused");
    assert!(refused.message.contains("indentation indicator (`|2`)"), "{}", refused.message);
    // Lines inserted before the first one at the block's indentation are fine.
    let outer = block.outer_splices(&[Splice::insert_at(0, "# note\n".to_string())]).expect("mapped");
    assert_eq!(apply(text, &outer), "spec:\n  source:\n    helm:\n      values: |\n        # note\n        a: 1\n");
}

#[test]
fn splices_out_of_the_inner_text_or_with_carriage_returns_are_refused() {
    let text = "spec:\n  source:\n    helm:\n      values: |\n        a: 1\n";
    let block = block_of(text);
    assert!(block.outer_splices(&[Splice::insert_at(99, "x".to_string())]).is_err());
    assert!(block.outer_splices(&[Splice::insert_at(4, "\r\nb: 2".to_string())]).is_err());
    let unsorted = [Splice::insert_at(4, "\nb: 2".to_string()), Splice::insert_at(0, "# x\n".to_string())];
    assert!(block.outer_splices(&unsorted).is_err());
}

#[test]
fn check_inner_reports_a_block_that_holds_other_data() {
    let text = "spec:\n  source:\n    helm:\n      values: |\n        a: 1\n";
    let at = ScalarAt { document: 0, path: &VALUES };
    let edited = "spec:\n  source:\n    helm:\n      values: |\n        a: 1\n        b: 2\n";
    assert_eq!(check_inner(text, edited, at, "a: 1\nb: 2\n"), Ok(()));
    assert!(check_inner(text, edited, at, "a: 1\nb: \"2\"\n").is_err());
    let header_changed = "spec:\n  source:\n    helm:\n      values: |-\n        a: 1\n        b: 2\n";
    assert!(check_inner(text, header_changed, at, "a: 1\nb: 2").is_err());
    let gone = "spec:\n  source:\n    helm: {}\n";
    assert!(check_inner(text, gone, at, "a: 1").is_err());
}
