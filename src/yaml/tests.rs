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
fn an_anchor_that_contains_its_own_alias_is_refused() {
    // Found by the `manifest` fuzz target: planned, then refused by verify as
    // "aliases nest too deep to compare". kubectl refuses it as well.
    let text = "labels: &l\n  app: web\n  again: *l\n";
    let err = parse(text).unwrap_err();
    assert_eq!(err.offset, text.find("*l").expect("there"));
    assert!(err.message.contains("contains itself"), "{}", err.message);
    // An alias after its anchor's node is closed is an ordinary repeat.
    assert!(parse("a: &l {app: web}\nb: *l\n").is_ok());
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
fn the_repeat_read_first_is_reported_in_small_and_large_mappings() {
    for filler in [0, 12] {
        let mut text = String::from("b: 1\nz: 1\n");
        for i in 0..filler {
            text.push_str(&format!("k{i}: 1\n"));
        }
        text.push_str("z: 2\nb: 2\nz: 3\n");
        let err = parse(&text).unwrap_err();
        assert_eq!(err.offset, text.find("z: 2").unwrap(), "{filler} more keys: {}", err.message);
        assert!(err.message.contains("duplicate key `z` (first at line 2)"), "{}", err.message);
    }
    assert!(parse("a: 1\nb: 1\nc: 1\n? [a]\n: 1\n? [a]\n: 2\n").is_ok(), "keys that are not strings are not compared");
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

// ---------------------------------------------------------------- issue 9: deep nesting (item 10)

/// Far deeper than `MAX_DEPTH`, so deep that a parser recursing per level
/// would overflow any thread's stack: refused with an offset, never a crash.
#[test]
fn nesting_of_100_000_levels_is_refused_without_recursion() {
    let n = 100_000;
    let shapes = [
        "- ".repeat(n) + "x\n",
        format!("a: {}{}\n", "[".repeat(n), "]".repeat(n)),
        format!("a: {}{}\n", "{b: [".repeat(n), "]}".repeat(n)),
    ];
    for text in &shapes {
        let err = parse(text).expect_err("refused");
        assert!(err.offset < text.len(), "located inside the text: {err:?}");
    }
    // Block mappings, one column per level.
    let text: String = (0..4_000).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect();
    let err = parse(&text).expect_err("refused");
    assert!(err.message.contains("nesting deeper than 400 levels"), "{err:?}");
    assert_eq!(LineIndex::new(&text).line_of(err.offset), MAX_DEPTH + 1, "{err:?}");
}

#[test]
fn nesting_of_exactly_max_depth_levels_parses() {
    let text = format!("{}x\n", "- ".repeat(MAX_DEPTH));
    assert!(parse(&text).is_ok());
    let text = format!("{}x\n", "- ".repeat(MAX_DEPTH + 1));
    assert!(parse(&text).is_err());
}

// ---------------------------------------------------------------- issue 9: lone CR (item 11)

#[test]
fn line_index_counts_lone_cr_crlf_and_lf_alike() {
    let text = "a\rb\r\nc\nd\r";
    let lines = LineIndex::new(text);
    assert_eq!((0..5).map(|i| lines.line_start(i)).collect::<Vec<_>>(), vec![0, 2, 5, 7, 9]);
    assert_eq!(lines.line_col(text, text.find('c').unwrap()), (3, 1));
    assert_eq!(lines.line_col(text, text.find('b').unwrap()), (2, 1));
    assert_eq!(lines.line_of(text.len()), 5);
    assert_eq!(split_lines_keeping_breaks(text).collect::<Vec<_>>(), vec!["a\r", "b\r\n", "c\n", "d\r"]);
    assert_eq!(git_lines(text).collect::<Vec<_>>(), vec!["a\rb\r\n", "c\n", "d\r"]);
    assert_eq!(split_lines_keeping_breaks("x\ry").collect::<String>(), "x\ry");
    assert_eq!(line_start_of(text, 3), 2, "`b` after a lone CR starts a line");
    assert_eq!(line_start_of(text, 4), 2, "the `\\n` of a CRLF is on the line of its `\\r`");
    assert_eq!(next_line_start(text, 1), 2);
    assert_eq!(next_line_start(text, 3), 5);
    assert_eq!(line_end(text, 2), 3);
}

/// Every node of every fixture input has the same span with its `\n`s
/// turned into lone `\r`s: markers, the line index and the scanning helpers
/// agree on what a line is.
#[test]
fn spans_with_lone_cr_breaks_equal_spans_with_lf_breaks() {
    fn spans(node: &Node, out: &mut Vec<std::ops::Range<usize>>) {
        out.push(node.span.clone());
        match &node.kind {
            NodeKind::Mapping { entries, .. } => entries.iter().for_each(|(k, v)| {
                spans(k, out);
                spans(v, out);
            }),
            NodeKind::Sequence { items, .. } => items.iter().for_each(|item| spans(item, out)),
            NodeKind::Scalar { .. } | NodeKind::Alias => {}
        }
    }
    fn walk(dir: &std::path::Path, texts: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, texts);
            } else if path.extension().is_some_and(|ext| ext == "yaml" || ext == "yml") {
                if let Ok(text) = std::fs::read_to_string(&path) {
                    texts.push((path.display().to_string(), text));
                }
            }
        }
    }
    let mut texts = Vec::new();
    walk(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"), &mut texts);
    let mut compared = 0;
    for (path, text) in texts.iter().filter(|(_, text)| !text.contains('\r')) {
        let Ok(lf_docs) = parse(text) else { continue };
        let cr_text = text.replace('\n', "\r");
        let cr_docs = parse(&cr_text).unwrap_or_else(|err| panic!("{path} with lone CRs: {err:?}"));
        assert_eq!(lf_docs.len(), cr_docs.len(), "{path}");
        for (lf, cr) in lf_docs.iter().zip(&cr_docs) {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            spans(&lf.root, &mut a);
            spans(&cr.root, &mut b);
            assert_eq!(a, b, "{path}: spans differ with lone CR line breaks");
        }
        compared += 1;
    }
    assert!(compared > 50, "only {compared} fixture files compared");
}

// ---------------------------------------------------------------- issue 9: linear markers (item 12)

#[test]
fn markers_on_a_long_line_with_multibyte_characters_convert_exactly() {
    let line: String = (0..1_000)
        .map(|i| {
            if i % 7 == 0 {
                'é'
            } else if i % 11 == 0 {
                '☕'
            } else {
                'x'
            }
        })
        .collect();
    let text = format!("\u{feff}k: v\n{line}\r{line}\n");
    let lines = LineIndex::new(&text);
    for (line_no, start) in [(2, text.find('\n').unwrap() + 1), (3, text.find('\r').unwrap() + 1)] {
        for (col, (i, _)) in text[start..].char_indices().take(1_001).enumerate() {
            assert_eq!(lines.offset_of(&text, line_no, col, false), start + i, "line {line_no} column {col}");
            assert_eq!(lines.line_col(&text, start + i), (line_no, col + 1));
        }
    }
    assert_eq!(lines.offset_of(&text, 1, 1, false), 3, "a BOM is one character");
}

// ---------------------------------------------------------------- issue 9: what kubectl refuses (item 16)

#[test]
fn characters_yaml_forbids_are_refused_at_their_offset() {
    for c in [
        '\u{1}', '\u{b}', '\u{c}', '\u{1b}', '\u{7f}', '\u{80}', '\u{9f}', '\u{fffe}', '\u{85}', '\u{2028}', '\u{2029}',
    ] {
        for text in
            [format!("a: x{c}y\n"), format!("a: \"x{c}y\"\n"), format!("# {c}\na: b\n"), format!("a: |\n  x{c}\n")]
        {
            let err = parse(&text).expect_err(&format!("{c:?} refused in {text:?}"));
            assert_eq!(err.offset, text.find(c).unwrap(), "{text:?}: {err:?}");
            assert!(err.message.contains(&format!("U+{:04X}", c as u32)), "{err:?}");
        }
    }
    // Tab, line breaks, a BOM inside the text and characters above U+FFFF are allowed.
    assert!(parse("a: \"x\ty\"\r\nb: \u{feff}c\u{10000}\n").is_ok());
}

#[test]
fn tabs_libyaml_refuses_are_refused_and_named() {
    // Shapes yaml-rust2 reads (it refuses `\tb: c` as indentation itself).
    let refused =
        ["a:\n -\tb: c\n", "- a\n-\tb: c\n", "a: b\n\t\nc: d\n", "a: b\n\t# comment\nc: d\n", "a:\n  b:\n     \tc\n"];
    for text in refused {
        let err = parse(text).expect_err(text);
        assert!(err.message.contains("a tab where YAML allows only spaces"), "{text:?}: {err:?}");
        assert_eq!(text.as_bytes()[err.offset], b'\t', "{text:?}: located at the tab: {err:?}");
    }
    // Tabs libyaml accepts stay accepted: in a block scalar's content, before a colon, trailing.
    for text in ["a: |\n  x\n  \ty\n", "a\t: b\n", "a: b\t\n", "a: b # c\t\n"] {
        assert!(parse(text).is_ok(), "{text:?}");
    }
}

#[test]
fn an_empty_key_holding_a_block_sequence_is_refused() {
    for text in ["a:\n  x: 1\n  : - b\n", "a:\n  x: 1\n  :\n  - b\n", "x: 1\n: - b\n"] {
        let err = parse(text).expect_err(text);
        assert!(err.message.contains("no key before it"), "{text:?}: {err:?}");
        assert_eq!(text.as_bytes()[err.offset], b':', "{text:?}: {err:?}");
    }
}

#[test]
fn json_streams_are_left_to_json_rules() {
    // kubectl reads these as JSON; libyaml would refuse the `:` on the key's next line.
    assert!(parse("{\"kind\"\n: \"Pod\"}\n").is_ok());
    assert!(parse("\t{\"kind\": \"Pod\"}\n").is_ok());
}

#[test]
fn an_empty_value_with_a_tag_or_an_anchor_spans_them() {
    // Found by the `manifest` fuzz target: `n:` then `!` on the next line
    // was an empty span after the colon, so an insertion at the mapping's end
    // went between the key and its tag, and the tag joined the inserted value.
    for (text, written) in [("a:\n  !\nb: 1\n", "!"), ("a: &x\nb: 1\n", "&x"), ("a: !t &x # c\nb: 1\n", "!t &x")] {
        let documents = parse(text).expect("valid YAML");
        let value = &documents[0].root.entries()[0].1;
        assert_eq!(&text[value.span.clone()], written, "{text:?}");
    }
    // Without properties, an empty value still sits right after its colon.
    let documents = parse("a:\nb: 1\n").expect("valid YAML");
    assert_eq!(documents[0].root.entries()[0].1.span, 2..2);
}

#[test]
fn a_plain_flow_scalar_folded_over_lone_carriage_returns_spans_to_its_end() {
    // Found by the `manifest` fuzz target: yaml-rust2 reads `~  b` after a
    // lone `\r` as `~ b`, and the span stopped at the second space, so the
    // policy was inserted inside the image.
    let text = "c: {image: a\r~  b:1, name: x}\n";
    let documents = parse(text).expect("valid YAML");
    let image = &documents[0].root.get("c").expect("there").entries()[0].1;
    assert_eq!(&text[image.span.clone()], "a\r~  b:1");
}

#[test]
fn a_plain_scalar_with_a_tab_inside_spans_to_its_end() {
    // Found by the `manifest` fuzz target: yaml-rust2 keeps the tab of
    // `N \ts` in the value, and the span stopped before it, so a policy
    // replacing the value left `s` behind (`Alwayss`).
    for text in ["p: N \ts", "p: N \ts\n", "p: a\t\tb  c # x\n", "p: a \t\n  b\n"] {
        let documents = parse(text).expect("valid YAML");
        let value = &documents[0].root.get("p").expect("there");
        let shown = &text[value.span.clone()];
        assert_eq!(shown.trim_end(), shown, "{text:?}");
        assert!(shown.ends_with(['s', 'c', 'b']), "{text:?} spans {shown:?}");
    }
}

#[test]
fn an_empty_value_before_a_document_marker_ends_on_its_own_line() {
    // Found by the `manifest` fuzz target: the null key and value of `- ?`
    // stood on the `---` below, so the pod spec ended past it and the pull
    // secrets went into the next document.
    let text = "spec:\n containers:\n - ?\n---\n";
    let documents = parse(text).expect("valid YAML");
    let spec = documents[0].root.get("spec").expect("there");
    assert_eq!(spec.span.end, text.find("\n---").unwrap());
    // Over blank and comment lines too, to the end of the last line with content.
    let text = "a:\n- ?\n\n# c\n...\n";
    let documents = parse(text).expect("valid YAML");
    assert_eq!(documents[0].root.span.end, text.find("\n...").unwrap());
}

#[test]
fn a_block_scalar_spans_the_blank_lines_that_are_its_content() {
    // (text, the value's text): lines of spaces past the content's depth
    // are content; so are trailing blank lines with keep chomping, and the
    // blank lines of a scalar that has no content line.
    for (text, spanned) in [
        ("a: |\n  x\n     \nb: 1\n", "|\n  x\n     "),
        ("a: |\n  x\n     ", "|\n  x\n     "),
        ("a: >\n  x\n  \t\n\nb: 1\n", ">\n  x\n  \t"),
        ("a: |\n  x\n\n  \nb: 1\n", "|\n  x"),
        ("a: |+\n  x\n\n  \nb: 1\n", "|+\n  x\n\n  "),
        ("a: |2+ # c\n  x\n\nb: 1\n", "|2+ # c\n  x\n"),
        ("a: |\n               ", "|\n               "),
        ("a: |\n\n   \nb: 1\n", "|\n\n   "),
    ] {
        let documents = parse(text).unwrap_or_else(|err| panic!("{text:?}: {err}"));
        let value = documents[0].root.get("a").expect("a");
        assert_eq!(&text[value.span.clone()], spanned, "{text:?} reads {:?}", value.as_str());
    }
}
