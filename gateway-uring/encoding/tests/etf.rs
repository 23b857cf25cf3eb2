//! ETF encoding and decoding: exact bytes for known terms (worked out by hand from the External
//! Term Format spec), the terms clients may send, refusals, and property tests for round trips
//! and for arbitrary bytes.

use accord_gateway_encoding::etf::{MAX_DEPTH, decode, encode};
use proptest::prelude::*;
use serde_json::{Value, json};

/// The encoded term after the version byte, checking the version byte is there.
fn body(value: &Value) -> Vec<u8> {
    let bytes = encode(value);
    assert_eq!(bytes[0], 131, "version byte");
    bytes[1..].to_vec()
}

fn with_version(term: &[u8]) -> Vec<u8> {
    let mut bytes = vec![131];
    bytes.extend_from_slice(term);
    bytes
}

#[test]
fn known_terms_encode_to_the_spec_bytes() {
    // NIL_EXT
    assert_eq!(body(&json!([])), [106]);
    // SMALL_ATOM_EXT, length 4, "true"
    assert_eq!(body(&json!(true)), [115, 4, b't', b'r', b'u', b'e']);
    assert_eq!(body(&json!(false)), [115, 5, b'f', b'a', b'l', b's', b'e']);
    assert_eq!(body(&Value::Null), [115, 3, b'n', b'i', b'l']);
    // SMALL_INTEGER_EXT for 0..=255
    assert_eq!(body(&json!(0)), [97, 0]);
    assert_eq!(body(&json!(255)), [97, 255]);
    // INTEGER_EXT: 300 = 0x0000012C
    assert_eq!(body(&json!(300)), [98, 0, 0, 1, 0x2C]);
    assert_eq!(body(&json!(256)), [98, 0, 0, 1, 0]);
    assert_eq!(body(&json!(-1)), [98, 0xFF, 0xFF, 0xFF, 0xFF]);
    assert_eq!(body(&json!(i32::MAX)), [98, 0x7F, 0xFF, 0xFF, 0xFF]);
    assert_eq!(body(&json!(i32::MIN)), [98, 0x80, 0, 0, 0]);
    // SMALL_BIG_EXT: 2^31 needs 4 digits; 2^40 = 0x01_00000000_00 has 6 little-endian digits.
    assert_eq!(body(&json!(1u64 << 31)), [110, 4, 0, 0, 0, 0, 0x80]);
    assert_eq!(body(&json!(1u64 << 40)), [110, 6, 0, 0, 0, 0, 0, 0, 1]);
    assert_eq!(
        body(&json!(u64::MAX)),
        [110, 8, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
    );
    // -(2^31 + 1): sign byte 1, magnitude 0x80000001.
    assert_eq!(body(&json!(-(1i64 << 31) - 1)), [110, 4, 1, 1, 0, 0, 0x80]);
    assert_eq!(
        body(&json!(i64::MIN)),
        [110, 8, 1, 0, 0, 0, 0, 0, 0, 0, 0x80]
    );
    // NEW_FLOAT_EXT: 1.5 = 0x3FF8000000000000
    assert_eq!(body(&json!(1.5)), [70, 0x3F, 0xF8, 0, 0, 0, 0, 0, 0]);
    // BINARY_EXT with the UTF-8 bytes of "hé"
    assert_eq!(body(&json!("hé")), [109, 0, 0, 0, 3, b'h', 0xC3, 0xA9]);
    // LIST_EXT of two elements, the inner one empty, NIL_EXT tail.
    assert_eq!(body(&json!([1, []])), [108, 0, 0, 0, 2, 97, 1, 106, 106]);
    // MAP_EXT with one binary key.
    assert_eq!(
        body(&json!({"op": 1})),
        [116, 0, 0, 0, 1, 109, 0, 0, 0, 2, b'o', b'p', 97, 1]
    );
}

#[test]
fn op_with_null_data_encodes_each_pair_as_spec_bytes() {
    let value = json!({"op": 1, "d": null});
    let op: &[u8] = &[109, 0, 0, 0, 2, b'o', b'p', 97, 1];
    let d: &[u8] = &[109, 0, 0, 0, 1, b'd', 115, 3, b'n', b'i', b'l'];
    // serde_json's map order depends on its `preserve_order` feature: follow the map's own.
    let mut expected = vec![116, 0, 0, 0, 2];
    for key in value.as_object().unwrap().keys() {
        expected.extend_from_slice(if key == "op" { op } else { d });
    }
    assert_eq!(body(&value), expected);
    assert_eq!(decode(&encode(&value)).unwrap(), value);
}

#[test]
fn client_term_forms_decode() {
    let cases: Vec<(Vec<u8>, Value)> = vec![
        // ATOM_EXT, SMALL_ATOM_UTF8_EXT and ATOM_UTF8_EXT atoms.
        (vec![100, 0, 3, b'n', b'i', b'l'], Value::Null),
        (vec![119, 4, b't', b'r', b'u', b'e'], json!(true)),
        (vec![118, 0, 5, b'f', b'a', b'l', b's', b'e'], json!(false)),
        // Another atom reads as its name; Latin-1 atoms map bytes to code points.
        (vec![115, 2, b'o', b'k'], json!("ok")),
        (vec![100, 0, 1, 0xE9], json!("é")),
        // STRING_EXT: text when UTF-8, the byte values otherwise.
        (vec![107, 0, 3, b'a', b'b', b'c'], json!("abc")),
        (vec![107, 0, 2, 0xFF, 1], json!([255, 1])),
        // LARGE_BIG_EXT 257, SMALL_BIG_EXT -5, high zero digits, negative zero.
        (vec![111, 0, 0, 0, 2, 0, 1, 1], json!(257)),
        (vec![110, 1, 1, 5], json!(-5)),
        (vec![110, 10, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0], json!(7)),
        (vec![110, 0, 1], json!(0)),
        (vec![98, 0xFF, 0xFF, 0xFF, 0xFE], json!(-2)),
        (vec![70, 0xC0, 0, 0, 0, 0, 0, 0, 0], json!(-2.0)),
        // A map whose value is a list.
        (
            vec![
                116, 0, 0, 0, 1, 109, 0, 0, 0, 1, b'd', 108, 0, 0, 0, 1, 97, 9, 106,
            ],
            json!({"d": [9]}),
        ),
    ];
    for (term, expected) in cases {
        assert_eq!(decode(&with_version(&term)).unwrap(), expected, "{term:?}");
    }
}

#[test]
fn refusals() {
    let refused: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("wrong version", vec![130, 106]),
        ("no term", vec![131]),
        (
            "atom key",
            with_version(&[116, 0, 0, 0, 1, 115, 2, b'o', b'p', 97, 1]),
        ),
        (
            "utf8 atom key",
            with_version(&[116, 0, 0, 0, 1, 119, 2, b'o', b'p', 97, 1]),
        ),
        (
            "integer key",
            with_version(&[116, 0, 0, 0, 1, 97, 1, 97, 1]),
        ),
        ("unknown tag (small tuple)", with_version(&[104, 0])),
        ("unknown tag 0", with_version(&[0])),
        ("truncated integer", with_version(&[98, 0, 0])),
        ("truncated binary", with_version(&[109, 0, 0, 0, 5, b'a'])),
        (
            "truncated map",
            with_version(&[116, 0, 0, 0, 2, 109, 0, 0, 0, 1, b'a', 97, 1]),
        ),
        ("missing list tail", with_version(&[108, 0, 0, 0, 1, 97, 1])),
        (
            "improper list",
            with_version(&[108, 0, 0, 0, 1, 97, 1, 97, 2]),
        ),
        ("trailing garbage", with_version(&[106, 0])),
        ("two terms", with_version(&[97, 1, 97, 2])),
        (
            "huge list",
            with_version(&[108, 0xFF, 0xFF, 0xFF, 0xFF, 106]),
        ),
        (
            "huge map",
            with_version(&[116, 0xFF, 0xFF, 0xFF, 0xFF, 106]),
        ),
        (
            "huge binary",
            with_version(&[109, 0xFF, 0xFF, 0xFF, 0xFF, b'a']),
        ),
        (
            "huge bignum",
            with_version(&[111, 0xFF, 0xFF, 0xFF, 0xFF, 0, 1]),
        ),
        (
            "bignum over u64",
            with_version(&[110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
        ),
        (
            "negative below i64",
            with_version(&[110, 8, 1, 1, 0, 0, 0, 0, 0, 0, 0x80]),
        ),
        ("bad sign", with_version(&[110, 1, 2, 1])),
        ("binary not utf-8", with_version(&[109, 0, 0, 0, 1, 0xFF])),
        ("nan", with_version(&[70, 0x7F, 0xF8, 0, 0, 0, 0, 0, 0])),
        (
            "infinity",
            with_version(&[70, 0x7F, 0xF0, 0, 0, 0, 0, 0, 0]),
        ),
    ];
    for (name, bytes) in refused {
        assert!(decode(&bytes).is_err(), "{name} was accepted");
    }
    // The error message names the problem.
    let err = decode(&with_version(&[116, 0, 0, 0, 1, 115, 2, b'o', b'p', 97, 1])).unwrap_err();
    assert!(err.to_string().contains("atom"), "{err}");
}

/// `depth` lists nested in each other, the innermost empty.
fn nested_lists(depth: usize) -> Vec<u8> {
    let mut term = Vec::new();
    for _ in 0..depth {
        term.extend_from_slice(&[108, 0, 0, 0, 1]);
    }
    term.push(106);
    term.extend(std::iter::repeat_n(106, depth));
    with_version(&term)
}

#[test]
fn nesting_is_bounded() {
    assert!(decode(&nested_lists(MAX_DEPTH)).is_ok());
    assert!(decode(&nested_lists(MAX_DEPTH + 1)).is_err());
    assert!(decode(&nested_lists(100_000)).is_err());
    let mut maps = Vec::new();
    for _ in 0..=MAX_DEPTH {
        maps.extend_from_slice(&[116, 0, 0, 0, 1, 109, 0, 0, 0, 1, b'k']);
    }
    maps.push(106);
    assert!(decode(&with_version(&maps)).is_err());
}

/// Arbitrary JSON: every integer size class, finite floats, unicode strings, nesting.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (0u64..=255).prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop_oneof![Just(u64::MAX), Just(1u64 << 32), Just(i32::MAX as u64 + 1)]
            .prop_map(Value::from),
        Just(Value::from(i64::MIN)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".*".prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(".*", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn json_round_trips(value in json_value()) {
        prop_assert_eq!(decode(&encode(&value)).unwrap(), value);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode(&bytes);
        let _ = decode(&with_version(&bytes));
    }

    #[test]
    fn corrupted_encodings_never_panic(value in json_value(), at in any::<usize>(), byte in any::<u8>()) {
        let mut bytes = encode(&value);
        let i = at % bytes.len();
        bytes[i] = byte;
        let _ = decode(&bytes);
        bytes.truncate(i);
        // A strict prefix of a whole term is never a whole term.
        prop_assert!(decode(&bytes).is_err());
    }
}
