//! `sse-bench merge`: the results of N shards of one run become one results directory.
//! Histograms are added (never percentiles averaged), counters and KMS calls summed,
//! time series aligned by wall clock; the summary is then built by the same code as a
//! single run's, so `report` and `compare` take the merged directory as they take any.
//!
//! Every run writes `shard.json` next to its summary: the recorded series with their
//! full histograms and the per-step KMS counts, which a summary alone (percentiles)
//! could not be added from.

use crate::recorder::{OfferedSecond, OpStats, Recorded, SeriesKey, StepTotals};
use crate::results::summary::{self, StepKms, TargetInfo};
use crate::scenario::{self, Mode};
use crate::shard::{Barrier, Shard};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The file every run writes for `merge`.
pub const SHARD_FILE: &str = "shard.json";
/// Version of [`ShardRecord`].
pub const SHARD_FORMAT: u32 = 1;

/// One series with its histograms (V2 deflate, base64).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SeriesRecord {
    /// Mode, phase, round, stream, operation.
    pub key: SeriesKey,
    /// Operations completed.
    pub count: u64,
    /// Operations that succeeded.
    pub ok: u64,
    /// Payload bytes.
    pub bytes: u64,
    /// Failures by class.
    pub errors: BTreeMap<String, u64>,
    /// Multipart uploads.
    pub multipart: u64,
    /// Their parts.
    pub parts: u64,
    /// Corrected latency histogram.
    pub corrected: String,
    /// Service time histogram.
    pub uncorrected: String,
    /// Time to first byte histogram.
    pub ttfb: String,
}

/// What one run (one shard) recorded, in full: the input of `merge`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ShardRecord {
    /// [`SHARD_FORMAT`].
    pub format: u32,
    /// This worker's shard (0/1 for an unsharded run).
    pub shard: Shard,
    /// SHA-256 of the scenario file's text.
    pub scenario_sha256: String,
    /// The run's seed.
    pub seed: u64,
    /// Unix time of the recorder's start (the hlogs' StartTime).
    pub start_unix: f64,
    /// Start (RFC 3339).
    pub started_at: String,
    /// End (RFC 3339).
    pub ended_at: String,
    /// Why the run is incomplete, if it is.
    pub incomplete_reason: Option<String>,
    /// The start barrier, when `--start-at` was given.
    pub barrier: Option<Barrier>,
    /// Whose KMS counter the per-second counts are: "own" (an in-process simulator),
    /// "shared" (one admin endpoint every shard reads), "none".
    pub kms_counter: String,
    /// The target.
    pub target: TargetInfo,
    /// KMS quota in force.
    pub quota_rps: Option<u64>,
    /// Customer-managed keys charged.
    pub keys: u32,
    /// Recorded series.
    pub series: Vec<SeriesRecord>,
    /// Per-step totals.
    pub steps: Vec<StepTotals>,
    /// KMS (second, calls, throttled) per mode.
    pub kms_per_second: BTreeMap<Mode, Vec<(u64, u64, u64)>>,
    /// KMS counts per step (this shard's buckets only, when the counter is shared).
    pub step_kms: Vec<StepKms>,
    /// Prefill spans per mode (seconds since the recorder's start).
    pub prefills: Vec<(Mode, f64, f64)>,
    /// Bucket → bucket role.
    pub bucket_roles: BTreeMap<String, String>,
    /// Access key id → principal name.
    pub principal_names: BTreeMap<String, String>,
    /// Stream → bucket role.
    pub stream_roles: BTreeMap<String, String>,
    /// CloudWatch's account-wide count, when read.
    pub kms_account_wide: Option<crate::kms::cloudwatch::AccountUsage>,
}

fn hist_to_b64(h: &crate::recorder::Hist) -> String {
    let mut buf = Vec::new();
    match V2DeflateSerializer::new().serialize(h, &mut buf) {
        Ok(_) => B64.encode(&buf),
        Err(_) => String::new(),
    }
}

fn hist_from_b64(s: &str) -> Result<crate::recorder::Hist, String> {
    if s.is_empty() {
        return Ok(crate::recorder::new_hist());
    }
    let bytes = B64.decode(s).map_err(|e| format!("histogram: {e}"))?;
    let h: hdrhistogram::Histogram<u64> = Deserializer::new()
        .deserialize(&mut std::io::Cursor::new(bytes))
        .map_err(|e| format!("histogram: {e}"))?;
    let mut out = crate::recorder::new_hist();
    out.add(&h).map_err(|e| format!("histogram: {e}"))?;
    Ok(out)
}

impl SeriesRecord {
    /// From a recorded series.
    pub fn of(key: &SeriesKey, s: &OpStats) -> SeriesRecord {
        SeriesRecord {
            key: key.clone(),
            count: s.count,
            ok: s.ok,
            bytes: s.bytes,
            errors: s.errors.clone(),
            multipart: s.multipart,
            parts: s.parts,
            corrected: hist_to_b64(&s.corrected),
            uncorrected: hist_to_b64(&s.uncorrected),
            ttfb: hist_to_b64(&s.ttfb),
        }
    }

    /// Back to a recorded series.
    pub fn stats(&self) -> Result<OpStats, String> {
        Ok(OpStats {
            corrected: hist_from_b64(&self.corrected)?,
            uncorrected: hist_from_b64(&self.uncorrected)?,
            ttfb: hist_from_b64(&self.ttfb)?,
            count: self.count,
            ok: self.ok,
            bytes: self.bytes,
            errors: self.errors.clone(),
            multipart: self.multipart,
            parts: self.parts,
        })
    }
}

/// SHA-256 of a scenario's text, hex.
pub fn scenario_digest(text: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// A shard's results directory, loaded.
struct Loaded {
    dir: PathBuf,
    record: ShardRecord,
    scenario_text: String,
}

/// Why a merge was refused (exit 2) or failed (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Mismatched or missing shards, unreadable input: nothing written.
    #[error("{0}")]
    Usage(String),
    /// Writing the result failed.
    #[error("{0}")]
    Failure(String),
}

/// Results directories under `path`: itself if it holds `shard.json`, else its
/// subdirectories that do (one level), sorted.
fn shard_dirs(path: &Path) -> Result<Vec<PathBuf>, MergeError> {
    if path.join(SHARD_FILE).is_file() {
        return Ok(vec![path.to_owned()]);
    }
    let entries = std::fs::read_dir(path)
        .map_err(|e| MergeError::Usage(format!("{}: {e}", path.display())))?;
    let mut v: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(SHARD_FILE).is_file())
        .collect();
    v.sort();
    if v.is_empty() {
        return Err(MergeError::Usage(format!(
            "{}: no {SHARD_FILE} there or in its subdirectories (is it a results directory of sse-bench 0.1 or later?)",
            path.display()
        )));
    }
    Ok(v)
}

fn load(dir: &Path) -> Result<Loaded, MergeError> {
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .map_err(|e| MergeError::Usage(format!("{}: {e}", dir.join(name).display())))
    };
    let record: ShardRecord = serde_json::from_str(&read(SHARD_FILE)?)
        .map_err(|e| MergeError::Usage(format!("{}: {e}", dir.join(SHARD_FILE).display())))?;
    if record.format != SHARD_FORMAT {
        return Err(MergeError::Usage(format!(
            "{}: shard format {} (this build reads {SHARD_FORMAT})",
            dir.display(),
            record.format
        )));
    }
    Ok(Loaded {
        dir: dir.to_owned(),
        record,
        scenario_text: read("scenario.toml")?,
    })
}

/// Checks that the shards are the N parts of one run: same scenario, seed and shard
/// count, each index once, none missing.
fn check(shards: &[Loaded]) -> Result<u32, MergeError> {
    let first = shards
        .first()
        .ok_or_else(|| MergeError::Usage("nothing to merge".into()))?;
    let n = first.record.shard.count;
    for s in shards {
        let r = &s.record;
        let what = |field: &str, a: String, b: String| {
            MergeError::Usage(format!(
                "{} and {} are not shards of one run: {field} differs ({a} vs {b})",
                first.dir.display(),
                s.dir.display()
            ))
        };
        if r.scenario_sha256 != first.record.scenario_sha256 {
            return Err(what(
                "the scenario",
                first.record.scenario_sha256[..12].to_owned(),
                r.scenario_sha256.get(..12).unwrap_or("").to_owned(),
            ));
        }
        if r.seed != first.record.seed {
            return Err(what(
                "the seed",
                first.record.seed.to_string(),
                r.seed.to_string(),
            ));
        }
        if r.shard.count != n {
            return Err(what(
                "the shard count",
                n.to_string(),
                r.shard.count.to_string(),
            ));
        }
    }
    let mut seen: BTreeMap<u32, &Path> = BTreeMap::new();
    for s in shards {
        if let Some(other) = seen.insert(s.record.shard.index, &s.dir) {
            return Err(MergeError::Usage(format!(
                "shard {} appears twice: {} and {}",
                s.record.shard,
                other.display(),
                s.dir.display()
            )));
        }
    }
    let missing: Vec<String> = (0..n)
        .filter(|i| !seen.contains_key(i))
        .map(|i| format!("{i}/{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Usage(format!(
            "missing shard{} {} of {n}: got {}",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", "),
            seen.keys()
                .map(|i| format!("{i}/{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(n)
}

/// Adds per-second KMS rows: summed for own counters, the largest reading for a
/// shared counter (every shard reads the same simulator).
fn merge_seconds(
    into: &mut BTreeMap<u64, (u64, u64)>,
    rows: impl Iterator<Item = (u64, u64, u64)>,
    shared: bool,
) {
    for (sec, c, t) in rows {
        let e = into.entry(sec).or_default();
        if shared {
            e.0 = e.0.max(c);
            e.1 = e.1.max(t);
        } else {
            e.0 += c;
            e.1 += t;
        }
    }
}

fn rfc3339_unix(s: &str) -> Option<f64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp_nanos() as f64 / 1e9)
}

/// What a merge produced.
pub struct Merged {
    /// The summary written.
    pub summary: summary::Summary,
    /// Shard directories merged, by index.
    pub inputs: Vec<PathBuf>,
}

/// Merges the shard directories found under `inputs` into `out`.
pub fn merge(inputs: &[PathBuf], out: &Path, prices: Option<&Path>) -> Result<Merged, MergeError> {
    let mut dirs = Vec::new();
    for p in inputs {
        dirs.extend(shard_dirs(p)?);
    }
    let mut shards: Vec<Loaded> = dirs.iter().map(|d| load(d)).collect::<Result<_, _>>()?;
    let n = check(&shards)?;
    shards.sort_by_key(|s| s.record.shard.index);
    let text = shards[0].scenario_text.clone();
    let ls = scenario::parse(&shards[0].dir.join("scenario.toml"), &text)
        .map_err(|e| MergeError::Usage(e.to_string()))?;
    let base = shards
        .iter()
        .map(|s| s.record.start_unix)
        .fold(f64::INFINITY, f64::min);
    let shared = shards.iter().any(|s| s.record.kms_counter == "shared");

    // Series: histograms added.
    let mut stats: BTreeMap<SeriesKey, OpStats> = BTreeMap::new();
    for s in &shards {
        for sr in &s.record.series {
            let st = sr.stats().map_err(|e| {
                MergeError::Usage(format!("{}: {e}", s.dir.join(SHARD_FILE).display()))
            })?;
            stats.entry(sr.key.clone()).or_default().merge(&st);
        }
    }
    // Steps: the same plan on every shard; wall-clock aligned.
    let mut steps: Vec<StepTotals> = Vec::new();
    for s in &shards {
        let offset = s.record.start_unix - base;
        for st in &s.record.steps {
            match steps
                .iter_mut()
                .find(|x| x.mode == st.mode && x.phase == st.phase && x.round == st.round)
            {
                Some(x) => {
                    x.seconds = x.seconds.max(st.seconds);
                    x.late += st.late;
                    x.start_s = x.start_s.min(st.start_s + offset);
                    for o in &st.offered {
                        match x
                            .offered
                            .iter_mut()
                            .find(|y| y.unix_second == o.unix_second)
                        {
                            Some(y) => {
                                y.arrivals += o.arrivals;
                                y.throttled += o.throttled;
                            }
                            None => x.offered.push(o.clone()),
                        }
                    }
                    x.offered.sort_by_key(|o: &OfferedSecond| o.unix_second);
                }
                None => {
                    let mut c = st.clone();
                    c.start_s += offset;
                    steps.push(c);
                }
            }
        }
    }
    let mut kms_per_second: BTreeMap<Mode, Vec<(u64, u64, u64)>> = BTreeMap::new();
    {
        let mut by_mode: BTreeMap<Mode, BTreeMap<u64, (u64, u64)>> = BTreeMap::new();
        for s in &shards {
            for (m, rows) in &s.record.kms_per_second {
                merge_seconds(by_mode.entry(*m).or_default(), rows.iter().copied(), shared);
            }
        }
        for (m, rows) in by_mode {
            kms_per_second.insert(m, rows.into_iter().map(|(s, (c, t))| (s, c, t)).collect());
        }
    }
    // KMS per step: calls are each shard's own; per-second readings as above.
    let mut step_kms: Vec<StepKms> = Vec::new();
    let steps_n = shards
        .iter()
        .map(|s| s.record.step_kms.len())
        .max()
        .unwrap_or(0);
    for i in 0..steps_n {
        let parts: Vec<&StepKms> = shards
            .iter()
            .filter_map(|s| s.record.step_kms.get(i))
            .collect();
        let Some(first) = parts.first() else { continue };
        let mut seconds = BTreeMap::new();
        for p in &parts {
            merge_seconds(
                &mut seconds,
                p.per_second
                    .iter()
                    .map(|c| (c.second, c.calls, c.throttled)),
                shared,
            );
        }
        step_kms.push(StepKms {
            mode: first.mode,
            record: first.record,
            calls: parts.iter().flat_map(|p| p.calls.iter().cloned()).collect(),
            attempts: parts.iter().map(|p| p.attempts).sum(),
            per_second: seconds
                .into_iter()
                .map(
                    |(second, (calls, throttled))| crate::sim::accounting::SecondCount {
                        second,
                        calls,
                        throttled,
                    },
                )
                .collect(),
        });
    }
    let mut prefills: BTreeMap<Mode, (f64, f64)> = BTreeMap::new();
    for s in &shards {
        let offset = s.record.start_unix - base;
        for (m, a, b) in &s.record.prefills {
            let e = prefills
                .entry(*m)
                .or_insert((f64::INFINITY, f64::NEG_INFINITY));
            e.0 = e.0.min(a + offset);
            e.1 = e.1.max(b + offset);
        }
    }
    let union = |f: &dyn Fn(&ShardRecord) -> &BTreeMap<String, String>| {
        let mut m = BTreeMap::new();
        for s in &shards {
            m.extend(f(&s.record).iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        m
    };
    let mut target = shards[0].record.target.clone();
    for s in &shards[1..] {
        let t = &s.record.target;
        target.buckets.extend(t.buckets.iter().cloned());
        target.left_behind.extend(t.left_behind.iter().cloned());
        target
            .reused_buckets
            .extend(t.reused_buckets.iter().cloned());
        for m in &t.skipped_modes {
            if !target.skipped_modes.iter().any(|x| x.mode == m.mode) {
                target.skipped_modes.push(m.clone());
            }
        }
    }
    for v in [
        &mut target.buckets,
        &mut target.left_behind,
        &mut target.reused_buckets,
    ] {
        let set: BTreeSet<String> = v.drain(..).collect();
        v.extend(set);
    }
    // Each shard's prefix differs; the merged result names none.
    target.key_prefix = None;

    // The run spans the first shard's start to the last shard's end.
    let times = |pick: fn(&ShardRecord) -> &String| -> Vec<(f64, String)> {
        shards
            .iter()
            .map(|s| pick(&s.record))
            .filter_map(|t| rfc3339_unix(t).map(|u| (u, t.clone())))
            .collect()
    };
    let started = times(|r| &r.started_at)
        .into_iter()
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|t| t.1)
        .unwrap_or_default();
    let ended = times(|r| &r.ended_at)
        .into_iter()
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|t| t.1)
        .unwrap_or_default();
    let duration_s = match (rfc3339_unix(&started), rfc3339_unix(&ended)) {
        (Some(a), Some(b)) => (b - a).max(0.0),
        _ => 0.0,
    };
    let incomplete: Vec<String> = shards
        .iter()
        .filter_map(|s| {
            s.record
                .incomplete_reason
                .as_ref()
                .map(|r| format!("shard {}: {r}", s.record.shard))
        })
        .collect();
    let price_table =
        crate::cost::PriceTable::load(prices).map_err(|e| MergeError::Usage(e.to_string()))?;
    let price_info = summary::PriceInfo::from_table(&price_table, &target.region).ok();
    let rules = if target.kind == "embedded" {
        crate::kms::KmsRules::from_sim(&ls.scenario.simulator)
    } else {
        crate::kms::KmsRules::default()
    };
    let mut measured_ls = ls.clone();
    measured_ls
        .scenario
        .modes
        .retain(|m| !target.skipped_modes.iter().any(|s| s.mode == *m));
    let recorded = Recorded {
        stats,
        steps,
        kms_per_second,
    };
    let first = &shards[0].record;
    let mut summary = summary::build(
        &recorded,
        summary::BuildInput {
            scenario: &measured_ls,
            seed: first.seed,
            target,
            quota_rps: first.quota_rps,
            step_kms,
            bucket_roles: union(&|r| &r.bucket_roles),
            principal_names: union(&|r| &r.principal_names),
            stream_roles: union(&|r| &r.stream_roles),
            started_at: started,
            ended_at: ended,
            duration_s,
            incomplete_reason: (!incomplete.is_empty()).then(|| incomplete.join("; ")),
            rules,
            prefills: prefills.into_iter().map(|(m, (a, b))| (m, a, b)).collect(),
            prices: price_info,
            hours_per_month: price_table.hours_per_month,
            keys: first.keys,
            kms_account_wide: shards
                .iter()
                .find_map(|s| s.record.kms_account_wide.clone()),
        },
        &measured_ls.thresholds,
    );
    summary.shards = Some(summary::ShardsInfo {
        count: n,
        merged: shards
            .iter()
            .map(|s| summary::MergedShard {
                index: s.record.shard.index,
                dir: s.dir.display().to_string(),
                operations: s.record.series.iter().map(|x| x.count).sum(),
                late_by_s: s.record.barrier.as_ref().map(|b| b.late_by_s),
            })
            .collect(),
        index: None,
        start_at: first.barrier.as_ref().map(|b| b.start_at.clone()),
        late_by_s: None,
    });

    std::fs::create_dir_all(out.join("histograms"))
        .map_err(|e| MergeError::Failure(format!("{}: {e}", out.display())))?;
    let hists = merge_hlogs(&shards, base, &out.join("histograms"))
        .map_err(|e| MergeError::Failure(format!("merging histograms: {e}")))?;
    merge_timeseries(&shards, base, &hists, shared, &out.join("timeseries.csv"))
        .map_err(|e| MergeError::Failure(format!("merging time series: {e}")))?;
    crate::results::write_dir(out, &summary, &text)
        .map_err(|e| MergeError::Failure(format!("writing {}: {e}", out.display())))?;
    if let Err(e) = crate::report::load(out).and_then(|d| crate::report::render(&[d], out)) {
        tracing::warn!("charts and report not written: {e}");
    }
    Ok(Merged {
        summary,
        inputs: shards.into_iter().map(|s| s.dir).collect(),
    })
}

/// Per (mode.op file, tag, second since `base`): the added interval histogram.
type IntervalHists = BTreeMap<(String, String, u64), crate::recorder::Hist>;

/// Adds the shards' interval logs, aligned by wall clock to whole seconds after `base`.
fn merge_hlogs(shards: &[Loaded], base: f64, out: &Path) -> Result<IntervalHists, String> {
    let mut all: IntervalHists = BTreeMap::new();
    for s in shards {
        let dir = s.dir.join("histograms");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".hlog"))
                .map(str::to_owned)
            else {
                continue;
            };
            let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
            let offset = s.record.start_unix - base;
            for line in text.lines().filter(|l| l.starts_with("Tag=")) {
                let mut f = line.splitn(5, ',');
                let (Some(tag), Some(start), Some(_), Some(_), Some(b64)) =
                    (f.next(), f.next(), f.next(), f.next(), f.next())
                else {
                    continue;
                };
                let start: f64 = start
                    .parse()
                    .map_err(|_| format!("{}: bad line", path.display()))?;
                let h = hist_from_b64(b64).map_err(|e| format!("{}: {e}", path.display()))?;
                let sec = (start + offset).max(0.0).floor() as u64;
                let slot = all
                    .entry((name.clone(), tag.trim_start_matches("Tag=").to_owned(), sec))
                    .or_insert_with(crate::recorder::new_hist);
                slot.add(&h).map_err(|e| e.to_string())?;
            }
        }
    }
    let mut files: BTreeMap<&str, String> = BTreeMap::new();
    let mut ser = V2DeflateSerializer::new();
    for ((name, tag, sec), h) in &all {
        let text = files.entry(name.as_str()).or_insert_with(|| {
            format!(
                "#[Histogram log format version 1.3]\n#[Values are latencies in microseconds; interval max in milliseconds]\n#[StartTime: {base:.3} (seconds since epoch)]\n#[BaseTime: {base:.3} (seconds since epoch)]\n#[Merged from shards by sse-bench merge: intervals aligned to whole seconds]\n\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n"
            )
        });
        let mut buf = Vec::new();
        ser.serialize(h, &mut buf).map_err(|e| e.to_string())?;
        text.push_str(&format!(
            "Tag={tag},{:.3},1.000,{:.3},{}\n",
            *sec as f64,
            h.max() as f64 / 1000.0,
            B64.encode(&buf)
        ));
    }
    // Log order: by time, as readers expect.
    for (name, text) in files {
        let mut lines: Vec<&str> = text.lines().collect();
        let header = lines
            .iter()
            .position(|l| l.starts_with('"'))
            .map_or(0, |p| p + 1);
        lines[header..].sort_by(|a, b| {
            let t = |l: &str| -> f64 {
                l.split(',')
                    .nth(1)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0.0)
            };
            t(a).partial_cmp(&t(b)).unwrap_or(std::cmp::Ordering::Equal)
        });
        let mut body = lines.join("\n");
        body.push('\n');
        crate::results::write_atomic(&out.join(format!("{name}.hlog")), body.as_bytes())
            .map_err(|e| e.to_string())?;
    }
    Ok(all)
}

/// Sums the shards' per-second rows by wall-clock second; percentiles come from the
/// merged interval histograms, never from the shards' percentiles.
fn merge_timeseries(
    shards: &[Loaded],
    base: f64,
    hists: &IntervalHists,
    shared: bool,
    out: &Path,
) -> Result<(), String> {
    #[derive(Default)]
    struct Row {
        ops: u64,
        errors: u64,
        throttled: u64,
        mib: f64,
        kms: Option<(u64, u64)>,
    }
    // (second since base, mode, phase, round, op)
    let mut rows: BTreeMap<(u64, String, String, String, String), Row> = BTreeMap::new();
    for s in shards {
        let path = s.dir.join("timeseries.csv");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let offset = s.record.start_unix - base;
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            if f.len() < 15 {
                continue;
            }
            // The same alignment as the interval logs: the shard's second plus its offset.
            let Ok(second) = f[0].parse::<f64>() else {
                continue;
            };
            let sec = (second + offset).max(0.0).floor() as u64;
            let r = rows
                .entry((sec, f[2].into(), f[3].into(), f[4].into(), f[5].into()))
                .or_default();
            r.ops += f[6].parse::<u64>().unwrap_or(0);
            r.errors += f[7].parse::<u64>().unwrap_or(0);
            r.throttled += f[8].parse::<u64>().unwrap_or(0);
            r.mib += f[9].parse::<f64>().unwrap_or(0.0);
            if let (Ok(c), Ok(t)) = (f[13].parse::<u64>(), f[14].parse::<u64>()) {
                let k = r.kms.get_or_insert((0, 0));
                if shared {
                    *k = (k.0.max(c), k.1.max(t));
                } else {
                    *k = (k.0 + c, k.1 + t);
                }
            }
        }
    }
    let mut o = String::from(
        "second,unix_time,mode,phase,round,op,ops,errors,throttled,mib,p50_ms,p99_ms,max_ms,kms_calls,kms_throttled\n",
    );
    let ms = |v: u64| v as f64 / 1000.0;
    for ((sec, mode, phase, round, op), r) in &rows {
        let tag = format!("{phase}-r{round}");
        let mut h = crate::recorder::new_hist();
        for ((name, t, s), x) in hists.range((format!("{mode}."), String::new(), 0)..) {
            if !name.starts_with(&format!("{mode}.")) {
                break;
            }
            let this_op = &name[mode.len() + 1..];
            if t == &tag && s == sec && (op == "all" || this_op == op) {
                let _ = h.add(x);
            }
        }
        let (kc, kt) = r.kms.map_or((String::new(), String::new()), |(c, t)| {
            (c.to_string(), t.to_string())
        });
        o.push_str(&format!(
            "{sec},{:.3},{mode},{phase},{round},{op},{},{},{},{:.3},{:.3},{:.3},{:.3},{kc},{kt}\n",
            base + *sec as f64 + 1.0,
            r.ops,
            r.errors,
            r.throttled,
            r.mib,
            ms(h.value_at_quantile(0.5)),
            ms(h.value_at_quantile(0.99)),
            ms(h.max()),
        ));
    }
    crate::results::write_atomic(out, o.as_bytes()).map_err(|e| e.to_string())
}

/// `sse-bench merge`: prints a short summary; exit 0, 2 for refused input, 1 on failure.
pub fn command(
    inputs: &[PathBuf],
    out: &Path,
    prices: Option<&Path>,
    quiet: bool,
    format: crate::cli::Format,
) -> i32 {
    use crate::cli::Format;
    match merge(inputs, out, prices) {
        Ok(m) => {
            match format {
                Format::Json => {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&m.summary).unwrap_or_default()
                    )
                }
                Format::Markdown => {
                    print!("{}", crate::results::table::render_markdown(&m.summary))
                }
                Format::Csv => match std::fs::read_to_string(out.join("ops.csv")) {
                    Ok(csv) => print!("{csv}"),
                    Err(e) => eprintln!("ops.csv: {e}"),
                },
                Format::Text if !quiet => {
                    print!("{}", crate::results::table::render(&m.summary));
                    println!("\nmerged {} shards into {}", m.inputs.len(), out.display());
                }
                Format::Text => {}
            }
            crate::cli::exit::OK
        }
        Err(MergeError::Usage(e)) => {
            eprintln!("error: {e}");
            crate::cli::exit::USAGE
        }
        Err(MergeError::Failure(e)) => {
            eprintln!("error: {e}");
            crate::cli::exit::FAILURE
        }
    }
}
