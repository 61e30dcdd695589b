//! What a header costs: the heap a parse allocates (peak, counted by this test binary's global
//! allocator) stays within `MAX_TABLE_BYTES_PER_HEADER_BYTE` × the header's size (plus
//! `TABLE_BYTES_ALLOWANCE`), for the shapes that cost the most per header byte, and the parse
//! counts its own tables (`ModelInfo::table_bytes`) within that bound too.
//!
//! The issue's shape is a 90 MB safetensors header holding one tensor with 45 M zero-length
//! dims (2–3 GB before). The test runs it at 4.5 M dims (9 MB); `LOADGUARD_COST_DIMS=45000000`
//! runs the full size.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use loadguard::format::{self, MAX_TABLE_BYTES_PER_HEADER_BYTE, TABLE_BYTES_ALLOWANCE};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's layout and pointer unchanged,
// so `System`'s guarantees hold; the counters only add and subtract sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `System` with `layout` (through `alloc` above).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract for `realloc` is passed on unchanged.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            let live = LIVE.fetch_add(new_size, Ordering::Relaxed) + new_size;
            // During a moving realloc both blocks are live: count the old one on top.
            PEAK.fetch_max(live + layout.size(), Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn safetensors_file(header: &str) -> Vec<u8> {
    let mut h = header.as_bytes().to_vec();
    h.resize(h.len().next_multiple_of(8), b' ');
    let mut out = u64::try_from(h.len()).unwrap().to_le_bytes().to_vec();
    out.extend(h);
    out
}

/// Parses `bytes` and returns (peak heap during the parse, header-table bytes counted).
fn measure(name: &str, bytes: &[u8]) -> (u64, u64, bool) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let result = format::parse(Path::new(name), bytes);
    let peak = PEAK.load(Ordering::Relaxed) - before;
    let ok = result.is_ok();
    let counted = result.map_or(0, |i| i.table_bytes());
    (u64::try_from(peak).unwrap(), counted, ok)
}

fn bound(header: usize) -> u64 {
    u64::try_from(header).unwrap() * MAX_TABLE_BYTES_PER_HEADER_BYTE + TABLE_BYTES_ALLOWANCE
}

#[test]
#[cfg_attr(miri, ignore = "parses a 9 MB header")]
fn costly_headers_stay_within_their_bound() {
    let dims: usize = std::env::var("LOADGUARD_COST_DIMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if std::env::var_os("LOADGUARD_UNDER_VALGRIND").is_some() {
            // valgrind runs 20-50x slower: the same shape at a tenth of the size.
            450_000
        } else {
            4_500_000
        });
    let zeros = vec!["0"; dims].join(",");
    let many_dims = safetensors_file(&format!(
        r#"{{"a":{{"dtype":"F32","shape":[{zeros}],"data_offsets":[0,0]}}}}"#
    ));
    drop(zeros);
    let mut tiny = String::from("{");
    let n = if std::env::var_os("LOADGUARD_UNDER_VALGRIND").is_some() {
        20_000
    } else {
        200_000
    };
    for i in 0..n {
        if i > 0 {
            tiny.push(',');
        }
        tiny.push_str(&format!(
            r#""{i}":{{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}"#
        ));
    }
    tiny.push('}');
    let many_tensors = safetensors_file(&tiny);
    // GGUF: 200,000 one-byte key/values with one-byte keys (13 file bytes each).
    let mut gguf = b"GGUF".to_vec();
    gguf.extend_from_slice(&3u32.to_le_bytes());
    gguf.extend_from_slice(&0u64.to_le_bytes());
    gguf.extend_from_slice(&u64::try_from(n).unwrap().to_le_bytes());
    for i in 0..u32::try_from(n).unwrap() {
        let key = format!("{i:x}");
        gguf.extend_from_slice(&u64::try_from(key.len()).unwrap().to_le_bytes());
        gguf.extend_from_slice(key.as_bytes());
        gguf.extend_from_slice(&0u32.to_le_bytes());
        gguf.push(1);
    }
    for (name, bytes) in [
        ("dims.safetensors", &many_dims),
        ("tensors.safetensors", &many_tensors),
        ("kvs.gguf", &gguf),
    ] {
        let (peak, counted, ok) = measure(name, bytes);
        let limit = bound(bytes.len());
        println!(
            "{name}: {} header bytes, peak heap {peak} ({:.2} per byte), counted {counted}, bound {limit}",
            bytes.len(),
            peak as f64 / bytes.len() as f64
        );
        assert!(ok, "{name} is a valid file");
        assert!(peak <= limit, "{name}: peak {peak} above {limit}");
        assert!(counted <= limit && counted > 0, "{name}: counted {counted}");
    }
}
