//! Parses a safetensors header of 10,000 tensors with loadguard and with the `safetensors`
//! crate's own metadata parsing, and prints both times and their ratio. No assertions on
//! timing: a bench binary, run with `cargo bench -p loadguard --bench format_header`.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

const TENSORS: usize = 10_000;

/// A valid file: 10,000 F32 tensors of shape [2, 3], 24 bytes each, in offset order.
fn file() -> Vec<u8> {
    let mut header = String::from("{\"__metadata__\":{\"format\":\"pt\"}");
    for i in 0..TENSORS {
        let s = i * 24;
        header.push_str(&format!(
            ",\"model.layers.{i}.self_attn.q_proj.weight\":{{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[{s},{}]}}",
            s + 24
        ));
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
    out.resize(out.len() + TENSORS * 24, 0);
    out
}

/// Best of `rounds` runs of `iters` calls each, per call.
fn time(rounds: u32, iters: u32, mut f: impl FnMut()) -> Duration {
    (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                f();
            }
            start.elapsed() / iters
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    let bytes = file();
    let path = Path::new("bench.safetensors");
    let ours = loadguard::format::safetensors::parse(path, &bytes).expect("valid");
    assert_eq!(ours.tensors().len(), TENSORS);
    let (rounds, iters) = if std::env::args().any(|a| a == "--test") {
        (1, 1)
    } else {
        (7, 20)
    };
    let loadguard = time(rounds, iters, || {
        black_box(loadguard::format::safetensors::parse(path, black_box(&bytes)).is_ok());
    });
    let reference = time(rounds, iters, || {
        black_box(safetensors::SafeTensors::read_metadata(black_box(&bytes)).is_ok());
    });
    println!(
        "safetensors header of {TENSORS} tensors ({} bytes):",
        bytes.len() - TENSORS * 24
    );
    println!("  loadguard::format::safetensors::parse   {loadguard:>12?}");
    println!("  safetensors::SafeTensors::read_metadata {reference:>12?}");
    println!(
        "  ratio loadguard / reference: {:.2}",
        loadguard.as_secs_f64() / reference.as_secs_f64().max(1e-12)
    );
}
