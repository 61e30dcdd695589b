//! Differential tests against the `safetensors` crate (the reference implementation): the same
//! verdict and the same tensor table on every safetensors fixture, and the places where
//! loadguard is stricter by design, pinned down so a change on either side shows up.

use std::path::Path;

use loadguard::format::{Details, Rule, safetensors as ours};

#[allow(dead_code)]
mod fixtures {
    include!("fixtures/table.rs");
}

type Table = Vec<(String, String, Vec<u64>, u64, u64)>;

fn reference(bytes: &[u8]) -> Result<Table, String> {
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes).map_err(|e| e.to_string())?;
    let mut table: Table = meta
        .tensors()
        .into_iter()
        .map(|(name, info)| {
            let shape = info
                .shape
                .iter()
                .map(|&d| u64::try_from(d).unwrap())
                .collect();
            let (s, e) = info.data_offsets;
            (
                name,
                format!("{:?}", info.dtype),
                shape,
                u64::try_from(s).unwrap(),
                u64::try_from(e).unwrap(),
            )
        })
        .collect();
    table.sort();
    Ok(table)
}

fn mine(bytes: &[u8]) -> Result<Table, loadguard::format::FormatError> {
    let info = ours::parse(Path::new("x.safetensors"), bytes)?;
    let Details::Safetensors { data_offset, .. } = info.details() else {
        unreachable!()
    };
    let mut table: Table = info
        .tensors()
        .iter()
        .map(|t| {
            let s = t.offset - data_offset;
            (
                t.name.clone(),
                t.dtype.name().to_owned(),
                t.dims.clone(),
                s,
                s + t.len,
            )
        })
        .collect();
    table.sort();
    Ok(table)
}

/// Rules where loadguard rejects what the reference accepts, on purpose.
const STRICTER: [Rule; 3] = [Rule::DuplicateKey, Rule::HeaderStart, Rule::Schema];

fn all_safetensors() -> impl Iterator<Item = (&'static str, &'static [u8])> {
    let valid = fixtures::VALID
        .iter()
        .filter(|f| f.1 == "safetensors")
        .map(|f| (f.0, f.2));
    let broken = fixtures::BROKEN
        .iter()
        .filter(|f| f.1 == "safetensors")
        .map(|f| (f.0, f.2));
    valid.chain(broken)
}

#[test]
#[cfg_attr(
    miri,
    ignore = "serde_json under Miri is slow; the parsers run under Miri in formats.rs"
)]
fn same_verdict_and_table_on_every_fixture() {
    let mut compared = 0;
    for (name, bytes) in all_safetensors() {
        match (mine(bytes), reference(bytes)) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{name}"),
            (Err(_), Err(_)) => {}
            (Ok(_), Err(e)) => panic!("{name}: loadguard accepts, the reference rejects: {e}"),
            (Err(e), Ok(_)) => assert!(
                STRICTER.contains(&e.rule),
                "{name}: only loadguard rejects: {e}"
            ),
        }
        compared += 1;
    }
    assert!(compared > 20);
}

/// Where the verdicts differ on purpose. If the reference ever tightens, this test says so.
#[test]
#[cfg_attr(miri, ignore = "serde_json under Miri is slow")]
fn known_strictness_differences() {
    let file = |header: &str, data: usize| {
        let mut h = header.as_bytes().to_vec();
        h.resize(h.len().next_multiple_of(8), b' ');
        let mut out = u64::try_from(h.len()).unwrap().to_le_bytes().to_vec();
        out.extend(h);
        out.extend(vec![0u8; data]);
        out
    };
    let t = r#""dtype":"F32","shape":[1],"data_offsets":[0,4]"#;
    let cases = [
        (file(&format!(r#" {{"a":{{{t}}}}}"#), 4), Rule::HeaderStart),
        (
            file(
                &format!(
                    r#"{{"a":{{"dtype":"F64","shape":[1],"data_offsets":[0,8]}},"a":{{{t}}}}}"#
                ),
                4,
            ),
            Rule::DuplicateKey,
        ),
        (
            file(
                &format!(r#"{{"__metadata__":{{"k":"1","k":"2"}},"a":{{{t}}}}}"#),
                4,
            ),
            Rule::DuplicateKey,
        ),
        (
            file(&format!(r#"{{"a":{{{t},"extra":[1,2]}}}}"#), 4),
            Rule::Schema,
        ),
    ];
    for (bytes, rule) in cases {
        assert!(
            reference(&bytes).is_ok(),
            "the reference now rejects {rule:?}"
        );
        assert_eq!(mine(&bytes).unwrap_err().rule, rule);
    }
}
