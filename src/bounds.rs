//! What a scenario asks of the machine, checked before anything starts: requests in
//! flight against the open-file limit and the ephemeral ports, an estimate of the
//! run's memory against what the machine has free (memory, cgroup limit, address
//! space limit), rates and object sizes against absolute caps, and the prefill
//! volume. A problem is a usage error naming the field, its line, the value, the
//! limit and how to raise it or split the load (`--shard`).

use crate::driver::{DEFAULT_MAX_IN_FLIGHT, key_slice, prefilled};
use crate::plan::MEMORY_BUDGET_BYTES;
use crate::scenario::{Load, LoadedScenario, ScenarioError, ScenarioErrors, ScenarioKind, Seg};
use crate::shard::Shard;

/// Most requests in flight one worker drives (closed-loop workers or open-loop cap).
pub const MAX_IN_FLIGHT: u64 = 65_536;
/// Highest open-loop rate one worker schedules, operations per second.
pub const MAX_RATE: f64 = 1_000_000.0;
/// Largest object S3 stores (5 TiB).
pub const MAX_OBJECT_BYTES: u64 = 5 << 40;
/// Most keys a stream may name (key names stay short; larger spaces are not a benchmark).
pub const MAX_KEYS: u64 = 1_000_000_000_000;
/// Most objects one worker prefills per mode unless `--prefill-limit` says otherwise.
pub const PREFILL_MAX: u64 = 1_000_000;

/// Estimated bytes per request in flight beyond its payload: task, connection and
/// SDK state on the client, and on the embedded target the server's side too.
const PER_REQUEST_BYTES: u64 = 96 << 10;
/// Runtime, clients, histograms and recorder.
const BASE_BYTES: u64 = 64 << 20;
/// The simulator's metadata per stored object (key, headers, wrapped keys).
const PER_OBJECT_BYTES: u64 = 600;
/// File descriptors kept for everything but connections.
const SPARE_FDS: u64 = 128;

/// What this machine allows, read once.
#[derive(Clone, Debug, Default)]
pub struct Machine {
    /// Open-file limit (soft, after raising it to the hard limit where allowed) and
    /// the hard limit.
    pub open_files: Option<(u64, u64)>,
    /// Bytes this process can still use, and where that figure came from.
    pub memory: Option<(u64, String)>,
    /// Local ports for outgoing connections to one address.
    pub ephemeral_ports: Option<u64>,
}

impl Machine {
    /// Reads the limits, raising the soft open-file limit to the hard one first (as
    /// load tools do: the default soft limit of 1024 is a shell convention, not a
    /// resource).
    pub fn read() -> Machine {
        Machine {
            open_files: open_files(),
            memory: memory(),
            ephemeral_ports: std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
                .ok()
                .and_then(|t| {
                    let mut it = t.split_whitespace().filter_map(|v| v.parse::<u64>().ok());
                    Some(it.next_back()? + 1 - it.next()?)
                }),
        }
    }
}

#[cfg(unix)]
fn open_files() -> Option<(u64, u64)> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit write to and read from a valid rlimit struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return None;
        }
        if r.rlim_cur < r.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: r.rlim_max,
                rlim_max: r.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                r.rlim_cur = r.rlim_max;
            }
        }
    }
    Some((r.rlim_cur, r.rlim_max))
}

#[cfg(not(unix))]
fn open_files() -> Option<(u64, u64)> {
    None
}

/// The smallest of: MemAvailable, the cgroup's limit minus its usage, and the
/// address-space limit minus what the process has mapped.
fn memory() -> Option<(u64, String)> {
    let mut best: Option<(u64, String)> = None;
    let mut offer = |v: u64, from: String| {
        if best.as_ref().is_none_or(|b| v < b.0) {
            best = Some((v, from));
        }
    };
    if let Some(kb) = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| field_kb(&t, "MemAvailable:"))
    {
        offer(kb << 10, "MemAvailable in /proc/meminfo".into());
    }
    let cg = |f: &str| {
        std::fs::read_to_string(format!("/sys/fs/cgroup/{f}"))
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
    };
    if let (Some(max), Some(cur)) = (cg("memory.max"), cg("memory.current")) {
        offer(
            max.saturating_sub(cur),
            "the cgroup's memory.max less memory.current".into(),
        );
    }
    #[cfg(unix)]
    {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes to a valid rlimit struct.
        if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut r) } == 0
            && r.rlim_cur != libc::RLIM_INFINITY
        {
            let mapped = std::fs::read_to_string("/proc/self/status")
                .ok()
                .and_then(|t| field_kb(&t, "VmSize:"))
                .unwrap_or(0)
                << 10;
            offer(
                r.rlim_cur.saturating_sub(mapped),
                format!(
                    "the address-space limit (RLIMIT_AS {} MiB) less what is mapped",
                    r.rlim_cur >> 20
                ),
            );
        }
    }
    best
}

fn field_kb(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// How the run is asked to go.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunShape {
    /// The embedded simulator serves in this process (its memory and sockets count too).
    pub embedded: bool,
    /// This worker's part.
    pub shard: Shard,
    /// `--prefill-limit`: most keys of each stream written before measuring.
    pub prefill_limit: Option<u64>,
}

/// The memory a run is estimated to need, by part.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemoryEstimate {
    /// Requests in flight at the busiest phase.
    pub in_flight: u64,
    /// Their payload and connection state.
    pub requests: u64,
    /// Objects the embedded simulator keeps in memory, and their metadata.
    pub stored: u64,
    /// Everything else.
    pub base: u64,
}

impl MemoryEstimate {
    /// The total.
    pub fn total(&self) -> u64 {
        self.requests + self.stored + self.base
    }

    /// One line for `--dry-run`.
    pub fn describe(&self) -> String {
        format!(
            "estimated memory: {} ({} in flight: {}; stored objects and metadata: {}; base: {})",
            mib(self.total()),
            self.in_flight,
            mib(self.requests),
            mib(self.stored),
            mib(self.base)
        )
    }
}

fn mib(b: u64) -> String {
    if b >= 10 << 30 {
        format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64)
    } else {
        format!("{:.0} MiB", b as f64 / (1u64 << 20) as f64)
    }
}

/// Keys of a stream the prefill writes (per worker), as the driver slices them.
pub fn prefilled_keys(keys: u64, shard: Shard, limit: Option<u64>) -> u64 {
    let (lo, hi) = key_slice(keys, shard);
    prefilled(hi - lo, limit)
}

/// Checks the scenario against the caps and this machine; returns the memory estimate.
pub fn check(
    ls: &LoadedScenario,
    machine: &Machine,
    shape: RunShape,
) -> Result<MemoryEstimate, ScenarioErrors> {
    let s = &ls.scenario;
    let mut errors = Vec::new();
    let busiest = phases(ls, shape, &mut errors);
    let streams = streams(ls, shape, &mut errors);
    // Memory: payloads in flight (the embedded target holds a request's plaintext on
    // both sides and its ciphertext), the simulator's objects up to its memory budget
    // and their metadata.
    let copies = if shape.embedded { 3 } else { 1 };
    let per_request =
        streams.largest * copies + PER_REQUEST_BYTES * if shape.embedded { 2 } else { 1 };
    let stored = if shape.embedded && s.kind != ScenarioKind::Kms {
        let workers = f64::from(shape.shard.count.max(1));
        let modes = s.modes.len().max(1) as u64;
        let bytes = (crate::plan::stored_bytes(s) / workers).min(MEMORY_BUDGET_BYTES);
        bytes as u64 + streams.prefill_objects * modes * PER_OBJECT_BYTES
    } else {
        0
    };
    let est = MemoryEstimate {
        in_flight: busiest.in_flight,
        requests: busiest.in_flight.saturating_mul(per_request),
        stored,
        base: BASE_BYTES,
    };
    // Past an absolute cap, the machine's limits would only repeat it.
    if errors.is_empty() {
        machine_limits(ls, machine, shape, &est, busiest.field, &mut errors);
    }
    if errors.is_empty() {
        Ok(est)
    } else {
        Err(ScenarioErrors(errors))
    }
}

/// "or split the load across machines": the way out of every per-worker limit.
const SPLIT: &str = "or split the load across machines with --shard I/N";

/// The phase with the most requests in flight, and the field where the machine's
/// limits are reported (its `rate` when the open-loop cap is the default).
struct Busiest {
    in_flight: u64,
    field: Vec<Seg>,
}

/// Requests in flight and open-loop rates per worker, against the absolute caps.
fn phases(ls: &LoadedScenario, shape: RunShape, errors: &mut Vec<ScenarioError>) -> Busiest {
    let mut fail = |segs: Vec<Seg>, msg: String| errors.push(ls.error_at(&segs, msg));
    let k = |n: &str| Seg::Key(n.to_owned());
    let workers = u64::from(shape.shard.count.max(1));
    let mut busiest = Busiest {
        in_flight: 0,
        field: Vec::new(),
    };
    for (i, p) in ls.scenario.phases.iter().enumerate() {
        let at = |f: &str| vec![k("phases"), Seg::Index(i), k(f)];
        let (field, n, shown) = match &p.load {
            Load::Closed { concurrency } => ("concurrency", u64::from(*concurrency), "concurrency"),
            Load::Open { max_in_flight, .. } | Load::Trace { max_in_flight, .. } => (
                "max_in_flight",
                u64::from(max_in_flight.unwrap_or(DEFAULT_MAX_IN_FLIGHT)),
                match (max_in_flight, &p.load) {
                    (Some(_), _) => "max_in_flight",
                    (None, Load::Trace { .. }) => "trace",
                    (None, _) => "rate",
                },
            ),
        };
        let own = shape.shard.take(n).max(1);
        if own > MAX_IN_FLIGHT {
            fail(
                at(field),
                format!(
                    "{n} requests in flight per worker is above the limit of {MAX_IN_FLIGHT}: lower {field}, {SPLIT} (each worker takes 1/N)"
                ),
            );
        }
        if let Some(r) = p.load.rate() {
            let (a, b) = r.bounds();
            let peak = a.max(b) / workers as f64;
            if peak > MAX_RATE {
                fail(
                    at("rate"),
                    format!(
                        "{} operations per second per worker is above the limit of {MAX_RATE:.0}/s one load generator can schedule: lower the rate, {SPLIT}",
                        fmt_num(peak)
                    ),
                );
            }
        }
        if own >= busiest.in_flight {
            busiest = Busiest {
                in_flight: own,
                field: at(shown),
            };
        }
    }
    busiest
}

/// What the streams ask of memory: the largest payload one request holds and the
/// objects prefill writes on this worker.
struct StreamDemand {
    largest: u64,
    prefill_objects: u64,
}

/// Object sizes, key spaces and prefill volumes, against the absolute caps.
fn streams(ls: &LoadedScenario, shape: RunShape, errors: &mut Vec<ScenarioError>) -> StreamDemand {
    let mut fail = |segs: Vec<Seg>, msg: String| errors.push(ls.error_at(&segs, msg));
    let s = &ls.scenario;
    let k = |n: &str| Seg::Key(n.to_owned());
    let (base, many) = match &s.workload {
        Some(_) => (vec![k("workload")], false),
        None => (vec![k("streams")], true),
    };
    let mut demand = StreamDemand {
        largest: 0,
        prefill_objects: 0,
    };
    for (i, st) in s.streams().iter().enumerate() {
        let at = |f: &[&str]| {
            let mut p = base.clone();
            if many {
                p.push(Seg::Index(i));
            }
            p.extend(f.iter().map(|f| k(f)));
            p
        };
        let max = st.size.max();
        if max > MAX_OBJECT_BYTES {
            fail(
                at(&["size"]),
                format!(
                    "objects of up to {} are larger than S3's largest object (5 TiB)",
                    mib(max)
                ),
            );
        }
        // A request holds its payload (a part, for multipart uploads) in memory.
        let held = match st.multipart {
            Some(m) if max >= m.threshold.0 => m.part.0,
            _ => max,
        };
        demand.largest = demand.largest.max(held);
        if st.keys > MAX_KEYS {
            fail(
                at(&["keys"]),
                format!(
                    "{} keys is above the limit of {} (10^12)",
                    fmt_num(st.keys as f64),
                    fmt_num(MAX_KEYS as f64)
                ),
            );
        }
        if st.prefill && s.kind != ScenarioKind::Kms {
            let n = prefilled_keys(st.keys, shape.shard, shape.prefill_limit);
            if shape.prefill_limit.is_none() && n > PREFILL_MAX {
                fail(
                    at(&["keys"]),
                    format!(
                        "prefill would write {} objects per mode on this worker (limit {}): pass --prefill-limit N to write the first N keys of each stream (reads then draw from those), set prefill = false, or {SPLIT}",
                        fmt_num(n as f64),
                        fmt_num(PREFILL_MAX as f64)
                    ),
                );
            }
            demand.prefill_objects += n;
        }
    }
    demand
}

/// The run against this machine's free memory, open files and local ports, reported at
/// the busiest phase's field.
fn machine_limits(
    ls: &LoadedScenario,
    machine: &Machine,
    shape: RunShape,
    est: &MemoryEstimate,
    busiest: Vec<Seg>,
    errors: &mut Vec<ScenarioError>,
) {
    let mut fail = |segs: Vec<Seg>, msg: String| errors.push(ls.error_at(&segs, msg));
    let in_flight = est.in_flight;
    if let Some((avail, from)) = &machine.memory
        && est.total() > *avail
    {
        fail(
            busiest.clone(),
            format!(
                "the run needs an estimated {} of memory, more than this machine has free ({} by {from}); {}: lower concurrency, max_in_flight or the object size, {SPLIT}",
                mib(est.total()),
                mib(*avail),
                est.describe()
            ),
        );
    }
    // Sockets: one per request in flight, two when the simulator is the other end.
    let fds = in_flight * if shape.embedded { 2 } else { 1 } + SPARE_FDS;
    if let Some((soft, hard)) = machine.open_files
        && fds > soft
    {
        fail(
            busiest.clone(),
            format!(
                "{in_flight} requests in flight need about {fds} open files, above this process's limit of {soft} (hard limit {hard}): raise it with `ulimit -n {fds}` (as root past the hard limit), lower the load, {SPLIT}"
            ),
        );
    }
    if let Some(ports) = machine.ephemeral_ports
        && in_flight > ports
    {
        fail(
            busiest,
            format!(
                "{in_flight} connections to one target need more local ports than the {ports} of net.ipv4.ip_local_port_range: widen it, lower the load, {SPLIT}"
            ),
        );
    }
}

/// 1234567 → "1,234,567" (whole numbers), else one decimal.
fn fmt_num(v: f64) -> String {
    if v.fract() != 0.0 || v.abs() >= 1e18 {
        return format!("{v:.1}");
    }
    let digits = format!("{}", v as u64);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(body: &str) -> LoadedScenario {
        let text = format!("version = 1\nname = \"b\"\nmodes = [\"sse-s3\"]\n{body}");
        crate::scenario::parse(std::path::Path::new("b.toml"), &text).expect("valid scenario")
    }

    fn roomy() -> Machine {
        Machine {
            open_files: Some((1 << 20, 1 << 20)),
            memory: Some((16 << 30, "test".into())),
            ephemeral_ports: Some(28_232),
        }
    }

    #[test]
    fn memory_grows_with_requests_in_flight_and_object_size() {
        let small = load(
            "[workload]\nsize = \"1KiB\"\nprefill = false\n[[phases]]\nname = \"m\"\nduration = \"1s\"\nconcurrency = 10\n",
        );
        let big = load(
            "[workload]\nsize = \"1MiB\"\nprefill = false\n[[phases]]\nname = \"m\"\nduration = \"1s\"\nconcurrency = 1000\n",
        );
        let shape = RunShape {
            embedded: true,
            ..RunShape::default()
        };
        let a = check(&small, &roomy(), shape).expect("fits");
        let b = check(&big, &roomy(), shape).expect("fits");
        assert_eq!(a.in_flight, 10);
        assert_eq!(b.in_flight, 1000);
        // 1000 × (3 × 1 MiB + 2 × 96 KiB)
        assert_eq!(b.requests, 1000 * (3 * (1 << 20) + 2 * (96 << 10)));
        let tight = Machine {
            memory: Some((1 << 30, "test".into())),
            ..roomy()
        };
        let e = check(&big, &tight, shape).expect_err("3 GiB does not fit in 1 GiB");
        assert!(e.to_string().contains("phases[0].concurrency"), "{e}");
        assert!(e.to_string().contains("--shard"), "{e}");
    }

    #[test]
    fn open_files_count_both_ends_on_the_embedded_target() {
        let s = load(
            "[workload]\nprefill = false\n[[phases]]\nname = \"m\"\nduration = \"1s\"\nrate = 100\nmax_in_flight = 1000\n",
        );
        let m = Machine {
            open_files: Some((1500, 4096)),
            ..roomy()
        };
        let embedded = RunShape {
            embedded: true,
            ..RunShape::default()
        };
        let e = check(&s, &m, embedded).expect_err("2128 fds above 1500");
        assert!(e.to_string().contains("ulimit -n 2128"), "{e}");
        check(&s, &m, RunShape::default()).expect("1128 fds for an endpoint fit");
    }

    #[test]
    fn prefill_volume_needs_a_limit_and_shards_divide_it() {
        let s = load(
            "[workload]\nkeys = 5000000\n[[phases]]\nname = \"m\"\nduration = \"1s\"\nconcurrency = 4\n",
        );
        let e = check(&s, &roomy(), RunShape::default()).expect_err("5M objects");
        assert!(e.to_string().contains("--prefill-limit"), "{e}");
        let limited = RunShape {
            prefill_limit: Some(1000),
            ..RunShape::default()
        };
        check(&s, &roomy(), limited).expect("limited prefill fits");
        let sharded = RunShape {
            shard: Shard { index: 0, count: 5 },
            ..RunShape::default()
        };
        check(&s, &roomy(), sharded).expect("1M per worker is allowed");
        assert_eq!(prefilled_keys(5_000_000, Shard::SINGLE, Some(1000)), 1000);
    }

    #[test]
    fn numbers_read_with_separators() {
        assert_eq!(fmt_num(50_000_000.0), "50,000,000");
        assert_eq!(fmt_num(999.0), "999");
        assert_eq!(fmt_num(1.5), "1.5");
    }
}
