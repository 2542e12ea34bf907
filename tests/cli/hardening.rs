//! What a tired user might type, refused before anything starts (exit 2, the field,
//! its line, the limit, no results directory); an open loop offered ten times what
//! the machine can do; the cost cap against a fast endpoint; errors for people.

use crate::common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};

fn run(scenario: &Path, out: &Path, extra: &[&str]) -> Output {
    common::sse_bench_command()
        .arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The three slips: each refused by `validate` and by `run` with exit 2, the
/// field and its line, the limit, and a way out; no results directory.
#[test]
fn slips_in_size_are_refused_before_anything_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (
            "conc",
            "modes = [\"sse-s3\"]\n[workload]\nprefill = false\n[[phases]]\nname = \"m\"\nduration = \"5s\"\nconcurrency = 50000000\n",
            ":9: phases[0].concurrency",
            "65536",
        ),
        (
            "keys",
            "modes = [\"sse-s3\"]\n[workload]\nkeys = 1000000000\n[[phases]]\nname = \"m\"\nduration = \"5s\"\nconcurrency = 4\n",
            ":5: workload.keys",
            "--prefill-limit",
        ),
        (
            "rate",
            "modes = [\"sse-s3\"]\n[workload]\nprefill = false\n[[phases]]\nname = \"m\"\nduration = \"5s\"\nrate = 100000000\n",
            ":9: phases[0].rate",
            "1000000/s",
        ),
    ];
    for (name, body, field, limit) in cases {
        let s = common::scenario_file(tmp.path(), name, body);
        let v = common::sse_bench_command()
            .arg("validate")
            .arg(&s)
            .output()
            .unwrap();
        common::assert_exit(&v, 2);
        let out = tmp.path().join(format!("{name}-out"));
        let r = run(&s, &out, &[]);
        common::assert_exit(&r, 2);
        for o in [&v, &r] {
            let e = stderr(o);
            assert!(e.contains(field), "{name}: {e}");
            assert!(e.contains(limit), "{name}: {e}");
            assert!(e.contains("--shard"), "{name}: {e}");
        }
        assert!(!out.exists(), "{name}: nothing is written");
    }
}

/// The key space is arithmetic: a billion keys without prefill run, and a prefill
/// limited to the first keys leaves every read finding its object.
#[test]
fn large_key_spaces_run_without_a_list_of_keys() {
    // Runs whose counts are judged.
    let _turn = common::turns::load();
    let tmp = tempfile::tempdir().unwrap();
    let s = common::scenario_file(
        tmp.path(),
        "big",
        "modes = [\"sse-s3\"]\n[workload]\nkeys = 1000000000\nprefill = false\nsize = \"1KiB\"\nmix = { put = 1 }\n[[phases]]\nname = \"m\"\noperations = 50\nconcurrency = 2\n",
    );
    let out = tmp.path().join("big-out");
    common::assert_exit(&run(&s, &out, &["-q"]), 0);
    assert_eq!(common::read_summary(&out)["results"][0]["count"], 50);

    let s = common::scenario_file(
        tmp.path(),
        "limited",
        "modes = [\"sse-s3\"]\n[workload]\nkeys = 5000000\nsize = \"1KiB\"\nmix = { get = 1 }\n[[phases]]\nname = \"m\"\noperations = 200\nconcurrency = 4\n",
    );
    let out = tmp.path().join("limited-out");
    let refused = run(&s, &out, &[]);
    common::assert_exit(&refused, 2);
    assert!(stderr(&refused).contains("--prefill-limit"));
    common::assert_exit(&run(&s, &out, &["-q", "--prefill-limit", "100"]), 0);
    let get = &common::read_summary(&out)["results"][0];
    assert_eq!(get["count"], 200);
    assert_eq!(get["ok"], 200, "reads draw from the 100 prefilled keys");
}

/// `--dry-run` says how much memory the run needs; under an address-space limit too
/// small for it, `run` refuses cleanly instead of being killed.
#[test]
fn memory_is_estimated_and_a_limit_is_respected() {
    // Runs whose counts are judged.
    let _turn = common::turns::load();
    let tmp = tempfile::tempdir().unwrap();
    let s = common::scenario_file(
        tmp.path(),
        "mem",
        "modes = [\"sse-s3\"]\n[workload]\nprefill = false\nsize = \"4MiB\"\n[[phases]]\nname = \"m\"\nduration = \"2s\"\nconcurrency = 1000\n",
    );
    let dry = common::sse_bench_command()
        .args(["run", "--dry-run"])
        .arg(&s)
        .output()
        .unwrap();
    common::assert_exit(&dry, 0);
    let text = String::from_utf8_lossy(&dry.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("estimated memory:"))
        .unwrap_or_else(|| panic!("no estimate in {text}"));
    // 1000 requests × (3 × 4 MiB + 2 × 96 KiB) ≈ 11.9 GiB.
    assert!(line.contains("11.9 GiB"), "{line}");
    let out = tmp.path().join("mem-out");
    let limited = |cmd: &mut Command| {
        // SAFETY: setrlimit is async-signal-safe; it runs in the child before exec.
        unsafe {
            cmd.pre_exec(|| {
                let lim = libc::rlimit {
                    rlim_cur: 2 << 30,
                    rlim_max: 2 << 30,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    };
    let mut cmd = common::sse_bench_command();
    cmd.arg("run").arg(&s).arg("--out").arg(&out);
    limited(&mut cmd);
    let o = cmd.output().unwrap();
    common::assert_exit(&o, 2);
    assert!(stderr(&o).contains("RLIMIT_AS"), "{}", stderr(&o));
    assert!(!out.exists());
    // The OOM-shaped scenario under the same limit: refused, not killed.
    let oom = common::scenario_file(
        tmp.path(),
        "oom",
        "modes = [\"sse-s3\"]\n[workload]\nprefill = false\n[[phases]]\nname = \"m\"\nduration = \"5s\"\nconcurrency = 50000000\n",
    );
    let mut cmd = common::sse_bench_command();
    cmd.arg("run").arg(&oom).arg("--out").arg(&out);
    limited(&mut cmd);
    common::assert_exit(&cmd.output().unwrap(), 2);
    assert!(!out.exists());
}

/// A misspelt region is a usage error naming the known ones, unless a price file
/// brings it or the scenario wants no costs.
#[test]
fn an_unknown_region_needs_prices_or_no_costs() {
    // Runs whose counts are judged.
    let _turn = common::turns::load();
    let tmp = tempfile::tempdir().unwrap();
    let body = |costs: &str| {
        format!(
            "{costs}modes = [\"sse-s3\"]\n[target]\nregion = \"eu-middle-9\"\n[workload]\nkeys = 4\nsize = \"1KiB\"\n[[phases]]\nname = \"m\"\noperations = 10\nconcurrency = 1\n"
        )
    };
    let s = common::scenario_file(tmp.path(), "region", &body(""));
    let out = tmp.path().join("region-out");
    let o = run(&s, &out, &[]);
    common::assert_exit(&o, 2);
    let e = stderr(&o);
    assert!(e.contains("eu-middle-9") && e.contains("us-east-1"), "{e}");
    assert!(e.contains("--prices") && e.contains("costs = false"), "{e}");
    assert!(!out.exists());

    let prices = tmp.path().join("prices.toml");
    std::fs::write(
        &prices,
        "[regions.eu-middle-9]\ns3_tier1_per_1000 = 0.005\ns3_tier2_per_1000 = 0.0004\nstorage_gb_month = 0.023\nkms_per_10000 = 0.03\nkms_free_requests = 20000\nkms_key_month = 1.0\nkms_quota_rps = 5500\nsource = \"test\"\nas_of = \"2026-12\"\n",
    )
    .unwrap();
    let priced = prices.to_str().unwrap();
    common::assert_exit(&run(&s, &out, &["-q", "--prices", priced]), 0);
    assert_eq!(
        common::read_summary(&out)["prices"]["prices"]["region"],
        "eu-middle-9"
    );

    let s = common::scenario_file(tmp.path(), "nocost", &body("costs = false\n"));
    let out = tmp.path().join("nocost-out");
    common::assert_exit(&run(&s, &out, &["-q"]), 0);
    let sm = common::read_summary(&out);
    assert!(sm["cost"].as_array().unwrap().is_empty());
    assert!(sm["prices"].is_null());
}

/// Ten times what the machine can do, for 2 seconds: the phase ends at its deadline
/// plus the drain bound, the arrivals not issued are counted as dropped (scheduled −
/// issued), the verdict says the generator fell behind, in summary.json and on the
/// terminal, and `dropped_rate` / `achieved_rate` can gate.
#[test]
fn an_open_loop_under_overload_ends_on_time_and_says_so() {
    // It saturates both cores and must end on time: the machine to itself.
    let _turn = common::turns::timed();
    let tmp = tempfile::tempdir().unwrap();
    let s = common::scenario_file(
        tmp.path(),
        "flood",
        "modes = [\"sse-s3\"]\n[target]\ntimeout = \"2s\"\n[workload]\nkeys = 50\nsize = \"1KiB\"\n[[phases]]\nname = \"flood\"\nduration = \"2s\"\nrate = 300000\nmax_in_flight = 64\n[thresholds]\n\"sse-s3.dropped_rate\" = \"< 0.1%\"\n\"sse-s3.achieved_rate\" = \"> 10\"\n",
    );
    let out = tmp.path().join("flood-out");
    let o = run(&s, &out, &[]);
    common::assert_exit(&o, 3);
    let sm = common::read_summary(&out);
    assert!(
        common::schema_errors(&sm).is_empty(),
        "{:?}",
        common::schema_errors(&sm)
    );
    let step = &sm["steps"][0];
    // The deadline (2 s) plus the drain bound (timeout 2 s + 1 s).
    assert!(step["seconds"].as_f64().unwrap() < 5.0, "{step}");
    let open = &step["open"];
    let (sched, issued, dropped) = (
        open["scheduled"].as_u64().unwrap(),
        open["issued"].as_u64().unwrap(),
        open["dropped"].as_u64().unwrap(),
    );
    assert_eq!(sched, 600_000);
    assert!(dropped > 0 && dropped == sched - issued, "{open}");
    let load = &sm["load"][0];
    assert_eq!(load["behind"], true);
    assert!(load["achieved_per_s"].as_f64().unwrap() < load["offered_per_s"].as_f64().unwrap());
    let caveats = sm["verdict"]["caveats"].to_string();
    assert!(caveats.contains("fell behind"), "{caveats}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("LOAD GENERATOR BEHIND"), "{stdout}");
    for page in ["summary.md", "report.html"] {
        let text = std::fs::read_to_string(out.join(page)).unwrap();
        assert!(text.contains("LOAD GENERATOR BEHIND"), "{page}");
    }
    // The dropped-rate rule fails, the achieved-rate rule passes.
    let t = sm["thresholds"].as_array().unwrap();
    let passed = |n: &str| t.iter().find(|r| r["name"] == n).unwrap()["passed"].clone();
    assert_eq!(passed("sse-s3.dropped_rate"), false);
    assert_eq!(passed("sse-s3.achieved_rate"), true);
    // The month is projected at what was achieved, not at the 300,000/s asked for.
    let rate = sm["cost"][0]["monthly"]["ops_per_s"].as_f64().unwrap();
    assert!(rate < 300_000.0, "{rate}");
}

/// The fast-endpoint case: closed loop, c=16, 8 s per mode against `serve`.
/// The estimate is called an estimate; the run stops before its priced requests pass
/// the cap, writes what it measured marked incomplete, and exits 4.
#[test]
fn max_cost_is_a_hard_cap_against_a_fast_endpoint() {
    // Runs whose counts are judged.
    let _turn = common::turns::load();
    let serve = common::spawn_serve();
    let tmp = tempfile::tempdir().unwrap();
    let s = common::scenario_file(
        tmp.path(),
        "fast",
        "modes = [\"sse-s3\", \"sse-kms\"]\n[workload]\nkeys = 100\nsize = \"1KiB\"\n[[phases]]\nname = \"m\"\nduration = \"8s\"\nconcurrency = 16\n",
    );
    let out = tmp.path().join("fast-out");
    let o = common::sse_bench_command()
        .arg("run")
        .arg(&s)
        .args(["--target", &serve.s3, "--max-cost", "0.02", "--out"])
        .arg(&out)
        .env("AWS_ACCESS_KEY_ID", &serve.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &serve.secret_key)
        .output()
        .unwrap();
    common::assert_exit(&o, 4);
    let e = stderr(&o);
    assert!(e.contains("estimated cost of this run (not a bound"), "{e}");
    let sm = common::read_summary(&out);
    assert_eq!(sm["complete"], false);
    assert!(
        sm["incomplete_reason"]
            .as_str()
            .unwrap()
            .starts_with("stopped at --max-cost $0.02"),
        "{}",
        sm["incomplete_reason"]
    );
    // What the run's own cost table says it spent stays under the cap.
    let spent: f64 = sm["cost"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["run"]["total_usd"].as_f64().unwrap())
        .sum();
    assert!(spent > 0.01 && spent <= 0.02 + 1e-9, "spent ${spent}");
}

/// A target that refuses connections: one line saying what failed and where, with a
/// hint, not a `Debug` dump of the SDK error.
#[test]
fn sdk_errors_read_as_sentences() {
    let tmp = tempfile::tempdir().unwrap();
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let s = common::scenario_file(
        tmp.path(),
        "refused",
        "modes = [\"sse-s3\"]\n[target]\nretries = \"off\"\n[workload]\nkeys = 4\n[[phases]]\nname = \"m\"\noperations = 4\nconcurrency = 1\n",
    );
    let o = common::sse_bench_command()
        .arg("run")
        .arg(&s)
        .args(["--target", &format!("http://127.0.0.1:{port}")])
        .arg("--out")
        .arg(tmp.path().join("x"))
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret-never-printed")
        .output()
        .unwrap();
    common::assert_exit(&o, 1);
    let e = stderr(&o);
    let line = e.lines().find(|l| l.starts_with("error:")).unwrap_or("");
    assert!(
        line.contains("connection failed") && line.contains("refused"),
        "{e}"
    );
    assert!(line.contains("is the target running"), "{e}");
    for noise in [
        "DispatchFailure",
        "ConnectorError",
        "source:",
        "Some(",
        "secret-never-printed",
    ] {
        assert!(!e.contains(noise), "{noise} in {e}");
    }
    assert!(line.len() < 300, "{line}");
}
