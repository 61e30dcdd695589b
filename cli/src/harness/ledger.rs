//! From per-process reports to what a run acquired and what it still held, symbolized.

use std::collections::BTreeMap;
use std::path::PathBuf;

use loadguard_preload_api::{
    Event, Frame, Kind, Location, Report, Resource, Symbolizer, path_matches, site,
};
use serde_json::{Value, json};

/// A resource's identity across runs: kind, acquiring call and acquire backtrace (module and
/// module-relative address, so address-space randomization does not matter).
pub type LeakKey = (Kind, String, Vec<(Option<PathBuf>, u64)>);

/// Resources held when each process image ended (everything at exit, the descriptors an
/// `exec` carried into the next program), within `--only`'s scope when it was given.
pub fn held(reports: &[Report]) -> Vec<(&Report, &Resource)> {
    reports
        .iter()
        .filter(|r| matches!(r.event, Event::Exit | Event::Exec))
        .flat_map(|r| {
            r.live
                .iter()
                .filter(|res| res.in_scope)
                .map(move |res| (r, res))
        })
        .collect()
}

fn frame_key(report: &Report, frame: &Frame) -> (Option<PathBuf>, u64) {
    (
        frame.module.and_then(|m| report.modules.get(m)).cloned(),
        frame.addr,
    )
}

pub fn key(report: &Report, res: &Resource) -> LeakKey {
    (
        res.kind,
        res.via.clone(),
        res.frames.iter().map(|f| frame_key(report, f)).collect(),
    )
}

/// How many of each held resource a run ended with.
pub fn held_keys(reports: &[Report]) -> BTreeMap<LeakKey, u64> {
    let mut keys = BTreeMap::new();
    for (report, res) in held(reports) {
        *keys.entry(key(report, res)).or_insert(0) += 1;
    }
    keys
}

fn in_preload(location: &Location) -> bool {
    location
        .module
        .as_ref()
        .and_then(|m| m.file_name())
        .is_some_and(|n| n.to_string_lossy().starts_with("libloadguard_preload"))
}

/// A symbolized backtrace without the preload's own frames, and its site in the program's code.
pub fn symbolize(
    sym: &mut Symbolizer,
    report: &Report,
    frames: &[Frame],
) -> (Option<Location>, Vec<Location>) {
    let locations: Vec<Location> = sym
        .locate_all(report, frames)
        .into_iter()
        .filter(|l| !in_preload(l))
        .collect();
    (site(&locations).cloned(), locations)
}

/// (kind, via, what, len, site) of a group of held resources.
type GroupKey = (String, String, String, u64, String);

/// Held resources grouped by kind, call, what, length and site, with the first one's backtrace.
pub fn leaks_json(sym: &mut Symbolizer, held: &[(&Report, &Resource)]) -> Vec<Value> {
    let mut groups: BTreeMap<GroupKey, (u64, Vec<String>)> = BTreeMap::new();
    for (report, res) in held {
        let (site, backtrace) = symbolize(sym, report, &res.frames);
        let site = site.map_or_else(|| "?".to_owned(), |l| l.short());
        let group = groups
            .entry((
                res.kind.name().to_owned(),
                res.via.clone(),
                res.what.clone(),
                res.len,
                site,
            ))
            .or_insert_with(|| (0, backtrace.iter().map(ToString::to_string).collect()));
        group.0 += 1;
    }
    groups
        .into_iter()
        .map(|((kind, via, what, len, site), (count, backtrace))| {
            json!({
                "kind": kind, "via": via, "what": what, "len": len, "count": count,
                "site": site, "backtrace": backtrace,
            })
        })
        .collect()
}

/// What the run acquired, summed over its processes: kind, call, what, count (only what
/// matches `only`, when given).
pub fn acquired_json(reports: &[Report], only: Option<&str>) -> Vec<Value> {
    let mut sums: BTreeMap<(&'static str, &str, &str), u64> = BTreeMap::new();
    for report in reports {
        let in_scope =
            |what: &str| only.is_none_or(|glob| path_matches(glob.as_bytes(), what.as_bytes()));
        for a in report.acquired.iter().filter(|a| in_scope(&a.what)) {
            *sums.entry((a.kind.name(), &a.via, &a.what)).or_insert(0) += a.count;
        }
    }
    let mut list: Vec<_> = sums.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    list.into_iter()
        .map(|((kind, via, what), count)| json!({"kind": kind, "via": via, "what": what, "count": count}))
        .collect()
}

/// Entries the ledger had no room for, over all processes.
pub fn dropped(reports: &[Report]) -> u64 {
    reports.iter().map(|r| r.dropped).sum()
}

/// Process images whose report lists nothing held because the ledger was busy at exit.
pub fn unlisted(reports: &[Report]) -> usize {
    reports
        .iter()
        .filter(|r| r.ledger_busy || !r.complete)
        .count()
}
