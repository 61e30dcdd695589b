//! What the process holds right now: RSS split by kind, and open file descriptors.

/// RssAnon, RssFile and RssShmem in KiB from /proc/self/status (Linux); `None` elsewhere.
/// Shared-memory buffers (memfd, dma-buf) count as RssShmem, neither anonymous nor file.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rss {
    pub anon_kib: Option<u64>,
    pub file_kib: Option<u64>,
    pub shmem_kib: Option<u64>,
}

/// Reads the process's RSS now.
pub fn rss() -> Rss {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return Rss::default();
    };
    let field = |name: &str| {
        status.lines().find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix(':')?;
            rest.trim().trim_end_matches("kB").trim().parse().ok()
        })
    };
    Rss {
        anon_kib: field("RssAnon"),
        file_kib: field("RssFile"),
        shmem_kib: field("RssShmem"),
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
