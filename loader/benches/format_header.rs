//! loadguard's safetensors parse and name lookups against the `safetensors` crate's, at
//! 100,000 tensors, in interleaved paired rounds (A B B A …): each round times both sides
//! back to back, alternating which goes first, and the report is the median of the per-round
//! ratios loadguard / reference (below 1.0: loadguard is faster). No assertion on timing.
//!
//! `cargo bench -p loadguard --bench format_header` (with `--test`: one tiny round, as CI
//! smoke-runs benches).

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use loadguard::os::MemoryOs;
use loadguard::{Model, Registry};

/// A valid file of `n` F32 tensors of shape [2, 3], 24 bytes each, in offset order, with the
/// layer-style names real checkpoints use.
fn file(n: usize) -> (Vec<u8>, Vec<String>) {
    let mut names = Vec::with_capacity(n);
    let mut header = String::from("{\"__metadata__\":{\"format\":\"pt\"}");
    for i in 0..n {
        let name = format!("model.layers.{}.self_attn.q_proj.weight.{i}", i % 80);
        let s = i * 24;
        header.push_str(&format!(
            ",\"{name}\":{{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[{s},{}]}}",
            s + 24
        ));
        names.push(name);
    }
    header.push('}');
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut out = u64::try_from(header.len())
        .unwrap_or(u64::MAX)
        .to_le_bytes()
        .to_vec();
    out.extend_from_slice(header.as_bytes());
    out.resize(out.len() + n * 24, 0);
    (out, names)
}

fn time(f: &mut impl FnMut()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

/// `rounds` paired rounds of `a` and `b`, alternating the order; returns the median ratio
/// a / b and the median times.
fn paired(rounds: usize, mut a: impl FnMut(), mut b: impl FnMut()) -> (f64, Duration, Duration) {
    let mut ratios = Vec::with_capacity(rounds);
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let (x, y) = if round % 2 == 0 {
            let x = time(&mut a);
            (x, time(&mut b))
        } else {
            let y = time(&mut b);
            (time(&mut a), y)
        };
        ratios.push(x.as_secs_f64() / y.as_secs_f64().max(1e-12));
        ta.push(x);
        tb.push(y);
    }
    ratios.sort_by(f64::total_cmp);
    ta.sort();
    tb.sort();
    (ratios[rounds / 2], ta[rounds / 2], tb[rounds / 2])
}

fn main() {
    let smoke = std::env::args().any(|a| a == "--test");
    let (n, rounds) = if smoke { (1_000, 3) } else { (100_000, 21) };
    let (bytes, names) = file(n);
    let path = Path::new("/bench.safetensors");
    let ours = loadguard::format::safetensors::parse(path, &bytes).expect("valid");
    assert_eq!(ours.tensors().len(), n);

    let (parse, t_ours, t_ref) = paired(
        rounds,
        || {
            black_box(loadguard::format::safetensors::parse(path, black_box(&bytes)).is_ok());
        },
        || {
            black_box(safetensors::SafeTensors::deserialize(black_box(&bytes)).is_ok());
        },
    );
    println!(
        "safetensors header of {n} tensors ({} header bytes), median of {rounds} paired rounds:",
        bytes.len() - n * 24
    );
    println!("  parse:   loadguard {t_ours:>10.2?}  safetensors {t_ref:>10.2?}  ratio {parse:.2}");

    // Lookups: every name once, through a Model (view of the shared bytes) and through the
    // reference's SafeTensors::tensor (view of the buffer).
    let fs = MemoryOs::new();
    fs.write(path, bytes.clone());
    let model = Model::open(&Registry::with_os(fs), path).expect("opens");
    let reference = safetensors::SafeTensors::deserialize(&bytes).expect("valid");
    let (lookup, l_ours, l_ref) = paired(
        rounds,
        || {
            for name in &names {
                black_box(model.tensor(black_box(name)).map(|t| t.bytes().len()));
            }
        },
        || {
            for name in &names {
                black_box(
                    reference
                        .tensor(black_box(name))
                        .map(|t| t.data().len())
                        .ok(),
                );
            }
        },
    );
    println!(
        "  lookups ({n} names): loadguard {l_ours:>10.2?}  safetensors {l_ref:>10.2?}  ratio {lookup:.2}"
    );
}
