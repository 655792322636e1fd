use super::*;

fn text_of<'a>(text: &'a str, node: &Node) -> &'a str {
    &text[node.span.clone()]
}

#[test]
fn spans_are_bytes_after_multibyte_comments_and_block_scalars() {
    let text = "\u{feff}# café ☕\nkind: Pod # é\nspec:\n  script: |\n    echo ☕\n    # not a comment\n  image: \"nginx:1\" # é\n  policy: 'Al''ways'\n";
    let docs = parse(text).expect("parses");
    let root = &docs[0].root;
    assert_eq!(text_of(text, root.get("kind").unwrap()), "Pod");
    let spec = root.get("spec").unwrap();
    assert_eq!(text_of(text, spec.get("script").unwrap()), "|\n    echo ☕\n    # not a comment");
    assert_eq!(text_of(text, spec.get("image").unwrap()), "\"nginx:1\"");
    assert_eq!(text_of(text, spec.get("policy").unwrap()), "'Al''ways'");
    assert_eq!(spec.span.end, text.find("'Al''ways'").unwrap() + "'Al''ways'".len());
}

#[test]
fn crlf_and_flow_collections() {
    let text = "a: {x: 1, y: [p, q]}\r\nb: plain words\r\n  folded on\r\nc:\r\n";
    let docs = parse(text).unwrap();
    let root = &docs[0].root;
    let a = root.get("a").unwrap();
    assert!(a.is_flow());
    assert_eq!(text_of(text, a), "{x: 1, y: [p, q]}");
    assert_eq!(text_of(text, root.get("b").unwrap()), "plain words\r\n  folded on");
    let c = root.get("c").unwrap();
    assert!(c.is_null());
    assert_eq!(c.span.start, text.rfind("c:").unwrap() + 2);
}

#[test]
fn multi_document_and_aliases_stay_aliases() {
    let text = "---\na: &x {k: v}\nb: *x\n---\nc: 1\n...\n";
    let docs = parse(text).unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0].root.get("b").unwrap().kind, NodeKind::Alias);
    assert_eq!(text_of(text, docs[0].root.get("b").unwrap()), "*x");
}

#[test]
fn alias_bomb_is_refused() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let prev = format!("*a{}", i - 1);
        text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
    }
    let err = parse(&text).unwrap_err();
    assert!(err.message.contains("alias bomb"), "{}", err.message);
}

#[test]
fn invalid_yaml_reports_offset() {
    let text = "a: 1\nb: [unclosed\n";
    let err = parse(text).unwrap_err();
    assert!(err.offset <= text.len());
}

#[test]
fn deep_nesting_is_refused() {
    let text = format!("{}1{}", "[".repeat(MAX_DEPTH + 5), "]".repeat(MAX_DEPTH + 5));
    assert!(parse(&text).is_err());
}

#[test]
fn block_collections_start_at_their_first_key_or_dash() {
    let text = "spec:\n    containers:\n        - image: a\n          name: b\n";
    let docs = parse(text).unwrap();
    let seq = docs[0].root.get("spec").unwrap().get("containers").unwrap();
    assert_eq!(&text[seq.span.clone()], "- image: a\n          name: b");
    assert_eq!(&text[seq.items()[0].span.clone()], "image: a\n          name: b");
}
#[test]
fn kubectl_style_sequence_starts_at_its_dash() {
    let text = "spec:\n  containers:\n  - image: a\n  restartPolicy: Always\n";
    let docs = parse(text).unwrap();
    let seq = docs[0].root.get("spec").unwrap().get("containers").unwrap();
    assert_eq!(&text[seq.span.clone()], "- image: a");
}

#[test]
fn duplicate_keys_are_refused() {
    let text = "a: 1\nspec:\n  selector: x\n  b: 2\n  selector: y\n";
    let err = parse(text).unwrap_err();
    assert_eq!(err.offset, text.rfind("selector").unwrap());
    assert!(err.message.contains("duplicate key `selector` (first at line 3)"), "{}", err.message);
}

#[test]
fn indentless_sequence_of_flow_sequences_is_a_block_sequence() {
    let text = "a:\n- [x]\n- [y]\n";
    let docs = parse(text).unwrap();
    let seq = docs[0].root.get("a").unwrap();
    assert!(!seq.is_flow());
    assert_eq!(text_of(text, seq), "- [x]\n- [y]");
    assert!(seq.items().iter().all(Node::is_flow));
}

/// The message for a flow collection closed at its key's column, and where it points.
fn flow_close_error(text: &str) -> (String, usize) {
    let err = parse(text).unwrap_err();
    (err.message, err.offset)
}

#[test]
fn flow_sequence_closed_at_its_key_column_is_explained_at_the_bracket() {
    // istio's spire quickstart: kubectl takes it, yaml-rust2 does not.
    let text = "spec:\n  containers:\n  - name: agent\n    args: [\n      \"--a\",\n      \"--b\"\n    ]\n";
    let (message, offset) = flow_close_error(text);
    assert_eq!(offset, text.rfind(']').unwrap());
    assert_eq!(
        message,
        "the closing `]` of this flow sequence is not indented past its key `args` (line 4, column 5); \
         yaml-rust2 (YAML 1.2) rejects this although kubectl accepts it: indent the `]` one more space \
         than `args`, to column 6"
    );
    // The fix the message gives is enough.
    assert!(parse(&text.replace("\n    ]", "\n     ]")).is_ok());
}

#[test]
fn flow_close_explained_for_mappings_nested_brackets_and_a_bracket_on_its_own_line() {
    let cases = [
        (
            "spec:\n  selector: {\n    \"app\": \"web\"\n  }\n",
            "`}` of this flow mapping",
            "`selector` (line 2, column 3)",
        ),
        (
            "spec:\n  args: &a [[\n    \"--a\" # a ] in a comment\n  ]]\n",
            "`]` of this flow sequence",
            "`args` (line 2, column 3)",
        ),
        ("spec:\n  \"args\":\n    [\n    '--a'\n ]\n", "`]` of this flow sequence", "`args` (line 2, column 3)"),
        (
            "\u{feff}spec:\r\n  n\u{e9}: [\r\n    \"\u{2615}\"\r\n  ]\r\n",
            "`]` of this flow sequence",
            "`n\u{e9}` (line 2, column 3)",
        ),
    ];
    for (text, closing, key) in cases {
        let (message, offset) = flow_close_error(text);
        assert!(message.contains(closing) && message.contains(key), "{text:?}: {message}");
        let line_start = text[..offset].rfind('\n').unwrap() + 1;
        assert!(text[line_start..offset].trim().is_empty(), "{text:?}: points at {offset}, not at the bracket");
        assert!(matches!(text.as_bytes()[offset], b']' | b'}'), "{text:?}: points at {offset}");
    }
}

#[test]
fn other_indentation_errors_keep_the_scanner_message() {
    for text in [
        // Content of the flow sequence at the key's column: not a closing bracket.
        "spec:\n  args: [\n    \"--a\",\n  \"--b\"\n    ]\n",
        // A block sequence's flow item: there is no key to be past.
        "spec:\n  containers:\n  - [\n    \"a\"\n  ]\n",
        // A bracket after other text on its line.
        "spec:\n  args: [\n    \"--a\"\n  , \"--b\"]\n",
    ] {
        let err = parse(text).unwrap_err();
        assert!(!err.message.contains("kubectl"), "{text:?}: {}", err.message);
    }
}
