use std::collections::BTreeMap;

use serde_json::json;

use super::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn err(s: &str) -> String {
    let e = LabelSelector::parse(s).expect_err(s);
    assert_eq!(e.code, 400);
    assert_eq!(e.reason, "BadRequest");
    e.message
}

#[test]
fn parses_every_operator_and_prints_canonically() {
    let cases = [
        ("", ""),
        ("x=a", "x=a"),
        ("x==a", "x==a"),
        ("x!=a", "x!=a"),
        ("x", "x"),
        ("!x", "!x"),
        ("x in (b,a)", "x in (a,b)"),
        ("x notin (a)", "x notin (a)"),
        ("x>1", "x>1"),
        ("x<1", "x<1"),
        ("  b = 1 , a=2,c  ", "a=2,b=1,c"),
        ("x in (foo,,baz),y,z notin ()", "x in (,baz,foo),y,z notin ()"),
        ("x=", "x="),
        ("x=,y", "x=,y"),
        ("in in (in,notin)", "in in (in,notin)"),
        ("example.com/app=web", "example.com/app=web"),
        ("x in (a,a,b)", "x in (a,b)"),
        ("a\tin\n(b)", "a in (b)"),
    ];
    for (input, want) in cases {
        let s = LabelSelector::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(s.to_string(), want, "{input}");
        // The canonical form parses back to the same selector.
        assert_eq!(LabelSelector::parse(&s.to_string()).unwrap(), s, "{input}");
    }
    assert!(LabelSelector::parse("").unwrap().is_empty());
    assert!(!LabelSelector::parse("a").unwrap().is_empty());
}

#[test]
fn parse_errors_match_kubernetes() {
    assert_eq!(err("x y"), "unable to parse requirement: found 'y', expected: in, notin, =, ==, !=, gt, lt");
    assert_eq!(err("x=a b"), "found 'b', expected: ',' or 'end of string'");
    assert_eq!(err("x=a,"), "found '', expected: identifier after ','");
    assert_eq!(err(",x"), "found ',', expected: !, identifier, or 'end of string'");
    assert_eq!(
        err("component not in (a)"),
        "unable to parse requirement: found 'not', expected: in, notin, =, ==, !=, gt, lt"
    );
    assert_eq!(err("x in a"), "unable to parse requirement: found 'a' expected: '('");
    assert_eq!(err("x in (a"), "unable to parse requirement: found '', expected: ',' or ')'");
    assert_eq!(err("x in (a b)"), "unable to parse requirement: found 'b', expected: ',' or ')'");
    assert_eq!(err("x in (="), "unable to parse requirement: found '=', expected: ',', ')' or identifier");
    assert_eq!(err("x==="), "unable to parse requirement: found '=', expected: identifier");
    assert_eq!(err("!"), "unable to parse requirement: found '', expected: identifier");
    assert_eq!(err("!x=a"), "found '=', expected: ',' or 'end of string'");
    assert_eq!(
        err("x>a"),
        "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer"
    );
    assert_eq!(
        err("a/b/c=d"),
        "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
    );
    assert_eq!(
        err("-x"),
        "unable to parse requirement: <nil>: Invalid value: \"-x\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
    );
    assert!(err("Bad_Prefix.com/x").starts_with(
        "unable to parse requirement: <nil>: Invalid value: \"Bad_Prefix.com/x\": prefix part a lowercase RFC 1123 subdomain"
    ));
    assert!(err("/x").contains("prefix part must be non-empty"));
    let long = "a".repeat(64);
    assert!(err(&long).contains("name part must be no more than 63 characters"));
    let msg = err(&format!("x={}", "v".repeat(64)));
    assert_eq!(
        msg,
        format!(
            "unable to parse requirement: values[0][x]: Invalid value: \"{}\": must be no more than 63 characters",
            "v".repeat(64)
        )
    );
    let msg = err("x in (a!b)");
    // '!' is a special symbol, so the lexer stops at it.
    assert_eq!(msg, "unable to parse requirement: found '!', expected: ',' or ')'");
    let msg = err("x in (-a,b-)");
    assert!(msg.starts_with("unable to parse requirement: [values[0][x]: Invalid value: \"-a\": a valid label"));
    assert!(msg.contains(", values[1][x]: Invalid value: \"b-\""));
}

#[test]
fn matching_follows_requirement_semantics() {
    let l = labels(&[("app", "web"), ("tier", "front"), ("n", "5")]);
    let m = |s: &str| LabelSelector::parse(s).unwrap().matches(&l);
    assert!(m(""));
    assert!(m("app=web"));
    assert!(m("app==web,tier=front"));
    assert!(!m("app=db"));
    assert!(m("app!=db"));
    assert!(m("missing!=x"));
    assert!(m("app in (db,web)"));
    assert!(!m("app notin (db,web)"));
    assert!(m("missing notin (x)"));
    assert!(m("tier"));
    assert!(!m("missing"));
    assert!(m("!missing"));
    assert!(!m("!app"));
    assert!(m("n>4"));
    assert!(!m("n>5"));
    assert!(m("n<6"));
    assert!(!m("app>1"));
    assert!(!m("missing<1"));
    assert!(m("app,!missing,tier in (front)"));
    assert!(!LabelSelector::nothing().matches(&l));
    let empty: BTreeMap<String, String> = BTreeMap::new();
    assert!(LabelSelector::parse("x notin (a)").unwrap().matches(&empty));
}

#[test]
fn matches_json_objects_and_maps() {
    let pod = json!({"metadata": {"name": "p", "labels": {"app": "web"}}});
    let s = LabelSelector::parse("app=web").unwrap();
    assert!(s.matches_object(&pod));
    assert!(s.matches(pod["metadata"]["labels"].as_object().unwrap()));
    assert!(!s.matches_object(&json!({"metadata": {"name": "q"}})));
    assert!(LabelSelector::parse("!app").unwrap().matches_object(&json!({})));
    let pairs: &[(&str, &str)] = &[("app", "web")];
    assert!(s.matches(pairs));
}

#[test]
fn exact_match_introspection() {
    let s = LabelSelector::parse("a=1,b in (2),c in (3,4),d!=5").unwrap();
    assert_eq!(s.requires_exact_match("a"), Some("1"));
    assert_eq!(s.requires_exact_match("b"), Some("2"));
    assert_eq!(s.requires_exact_match("c"), None);
    assert_eq!(s.requires_exact_match("d"), None);
    assert_eq!(s.requires_exact_match("z"), None);
    assert_eq!(s.requirements().len(), 4);
    assert_eq!(s.requirements()[2].operator(), Operator::In);
    assert_eq!(s.requirements()[2].values(), ["3", "4"]);
}

#[test]
fn from_metav1_label_selector() {
    let s = LabelSelector::from_label_selector(&json!({
        "matchLabels": {"z": "1", "app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["b", "a"]},
            {"key": "gone", "operator": "DoesNotExist"},
            {"key": "env", "operator": "Exists"},
            {"key": "x", "operator": "NotIn", "values": ["q"]}
        ]
    }))
    .unwrap();
    assert_eq!(s.to_string(), "app=web,env,!gone,tier in (a,b),x notin (q),z=1");
    assert!(s.matches(&labels(&[("app", "web"), ("z", "1"), ("tier", "a"), ("env", "")])));
    assert!(!s.matches(&labels(&[("app", "web"), ("z", "1"), ("tier", "c"), ("env", "")])));

    let null = LabelSelector::from_label_selector(&json!(null)).unwrap();
    assert!(null.is_nothing() && !null.is_empty());
    assert!(!null.matches(&labels(&[])));
    assert_eq!(null.to_string(), "");
    let all = LabelSelector::from_label_selector(&json!({})).unwrap();
    assert!(all.is_empty() && all.matches(&labels(&[])));

    let e = LabelSelector::from_label_selector(&json!({"matchExpressions": [{"key": "a", "operator": "Foo"}]}))
        .unwrap_err();
    assert_eq!(e.message, "\"Foo\" is not a valid label selector operator");
    let e =
        LabelSelector::from_label_selector(&json!({"matchExpressions": [{"key": "a", "operator": "In"}]})).unwrap_err();
    assert_eq!(
        e.message,
        "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty"
    );
    let e = LabelSelector::from_label_selector(
        &json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x", "y"]}]}),
    )
    .unwrap_err();
    assert_eq!(
        e.message,
        "values: Invalid value: []string{\"x\", \"y\"}: values set must be empty for exists and does not exist"
    );
    let e = LabelSelector::from_label_selector(&json!({"matchLabels": {"a b": "c"}})).unwrap_err();
    assert!(e.message.starts_with("key: Invalid value: \"a b\": name part must consist"), "{}", e.message);
}

#[test]
fn odd_input_never_panics() {
    for s in ["(", ")", "=", "!=", "==", ">", "<", "\0", "a\0b", "é=ü", "a in (", "a in ()", "!!a", ",,", "a,,b"] {
        let _ = LabelSelector::parse(s);
    }
    assert_eq!(LabelSelector::parse("a in ()").unwrap().to_string(), "a in ()");
}
