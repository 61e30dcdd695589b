//! What the process holds right now: RSS split by kind, PSS, page tables, open descriptors.

/// Memory figures in KiB from /proc/self/status and /proc/self/smaps_rollup (Linux); `None`
/// elsewhere. Shared-memory buffers (memfd, dma-buf) count as RssShmem, neither anonymous nor
/// file. PSS divides every shared page among the processes mapping it, and counts a page mapped
/// N times in this process once — unlike RssFile, which counts the page cache once per mapping.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mem {
    pub anon_kib: Option<u64>,
    pub file_kib: Option<u64>,
    pub shmem_kib: Option<u64>,
    pub pss_kib: Option<u64>,
    /// VmPTE: the page tables of every mapping.
    pub page_tables_kib: Option<u64>,
}

fn field(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// Reads the process's memory figures now.
pub fn mem() -> Mem {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
    Mem {
        anon_kib: field(&status, "RssAnon"),
        file_kib: field(&status, "RssFile"),
        shmem_kib: field(&status, "RssShmem"),
        pss_kib: field(&rollup, "Pss"),
        page_tables_kib: field(&status, "VmPTE"),
    }
}

/// Number of open file descriptors (entries of /proc/self/fd); `None` where there is no procfs.
pub fn fds() -> Option<u64> {
    let dir = std::fs::read_dir("/proc/self/fd").ok()?;
    // The directory handle itself is one of the entries while we count: leave it out.
    Some(u64::try_from(dir.count()).ok()?.saturating_sub(1))
}

/// Reads one byte of every page so every page is resident, and returns a checksum so the
/// reads cannot be optimised away.
pub fn touch_pages(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .step_by(4096)
        .fold(0u64, |acc, &b| acc.wrapping_add(u64::from(b)))
}

/// Nanoseconds since `start`, saturating.
pub fn nanos(start: std::time::Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}
