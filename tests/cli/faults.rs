//! Faults the tool exists to provoke, survived with nothing lost: the target killed
//! mid-run, a target that stops answering, a results disk that fills, the run
//! itself killed with SIGKILL, and every simulator fault at once.

use crate::common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Waits (bounded) until the run has streamed `rows` rows of its time series.
fn wait_for_rows(out: &Path, rows: usize, child: &mut Child) {
    let series = out.join("timeseries.csv.partial");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(&series).map_or(0, |t| t.lines().count()) < rows {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before measuring"
        );
        assert!(Instant::now() < deadline, "the run never started measuring");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `run` in the background against `target`, signing as `serve`'s requester.
fn spawn_run(scenario: &Path, out: &Path, target: &str, serve: &common::ServeProcess) -> Child {
    common::sse_bench_command()
        .args(["-q", "run"])
        .arg(scenario)
        .args(["--target", target, "--out"])
        .arg(out)
        .env("AWS_ACCESS_KEY_ID", &serve.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &serve.secret_key)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child) -> Output {
    child.wait_with_output().unwrap()
}

fn errors_by_class(sm: &serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    let mut all = serde_json::Map::new();
    for r in sm["results"].as_array().unwrap() {
        for (k, v) in r["errors"].as_object().unwrap() {
            let n = all.get(k).and_then(|x| x.as_u64()).unwrap_or(0) + v.as_u64().unwrap();
            all.insert(k.clone(), n.into());
        }
    }
    all
}

/// `serve` killed mid-run: the requests after it fail as connection errors, the run
/// ends on time with them counted, and exits non-zero because a threshold says so.
#[test]
fn the_target_killed_mid_run_is_counted_and_gated() {
    // A run whose errors and files are judged.
    let _turn = common::turns::load();
    let serve = common::spawn_serve();
    let tmp = tempfile::tempdir().unwrap();
    let s = common::scenario_file(
        tmp.path(),
        "killed",
        "modes = [\"sse-s3\"]\n[target]\nretries = \"off\"\ntimeout = \"2s\"\n[workload]\nkeys = 20\nsize = \"1KiB\"\n[[phases]]\nname = \"m\"\nduration = \"4s\"\nrate = 100\n[thresholds]\n\"all.error_rate\" = \"< 1%\"\n",
    );
    let out = tmp.path().join("out");
    let mut child = spawn_run(&s, &out, &serve.s3, &serve);
    wait_for_rows(&out, 2, &mut child);
    drop(serve);
    let o = finish(child);
    common::assert_exit(&o, 3);
    let sm = common::read_summary(&out);
    assert_eq!(sm["complete"], true);
    let errors = errors_by_class(&sm);
    assert!(
        errors
            .get("connection")
            .and_then(|v| v.as_u64())
            .unwrap_or(0)
            > 0,
        "{errors:?}"
    );
    let rule = &sm["thresholds"][0];
    assert_eq!(rule["passed"], false, "{rule}");
    // Cleanup could not reach the target: said, not fatal.
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!e.contains("panicked"), "{e}");
}

/// A TCP proxy in front of `serve` that, once told to, stops answering: connections
/// stay open and nothing comes back (a hung load balancer).
struct Blackhole {
    addr: String,
    silent: Arc<AtomicBool>,
}

impl Blackhole {
    fn start(upstream: &str) -> Blackhole {
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = format!("http://{}", listener.local_addr().unwrap());
        let silent = Arc::new(AtomicBool::new(false));
        let flag = silent.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(&upstream) else {
                    return;
                };
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    let flag = flag.clone();
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16 << 10];
                        // Bytes read once silent are swallowed: the peer waits forever.
                        while let Ok(n) = from.read(&mut buf) {
                            if n == 0
                                || (!flag.load(Ordering::Relaxed)
                                    && to.write_all(&buf[..n]).is_err())
                            {
                                break;
                            }
                        }
                    });
                }
            }
        });
        Blackhole { addr, silent }
    }
}

/// A target that accepts connections and never answers: per-request timeouts fire,
/// the phase ends at its deadline plus the drain bound, and the timeouts are counted.
#[test]
fn a_target_that_never_answers_times_out_on_schedule() {
    // The phase must end on time: the machine to itself.
    let _turn = common::turns::timed();
    let serve = common::spawn_serve();
    let proxy = Blackhole::start(&serve.s3);
    let tmp = tempfile::tempdir().unwrap();
    let s = common::scenario_file(
        tmp.path(),
        "silent",
        "modes = [\"sse-s3\"]\n[target]\nretries = \"off\"\ntimeout = \"1s\"\n[workload]\nkeys = 20\nsize = \"1KiB\"\n[[phases]]\nname = \"m\"\nduration = \"4s\"\nconcurrency = 4\n",
    );
    let out = tmp.path().join("out");
    let mut child = spawn_run(&s, &out, &proxy.addr, &serve);
    wait_for_rows(&out, 2, &mut child);
    proxy.silent.store(true, Ordering::Relaxed);
    let o = finish(child);
    common::assert_exit(&o, 0);
    let sm = common::read_summary(&out);
    let step = sm["steps"].as_array().unwrap().last().unwrap().clone();
    // 4 s phase, then at most the drain bound (timeout 1 s + 1 s).
    assert!(step["seconds"].as_f64().unwrap() < 6.5, "{step}");
    let errors = errors_by_class(&sm);
    assert!(
        errors.get("timeout").and_then(|v| v.as_u64()).unwrap_or(0) >= 4,
        "{errors:?}"
    );
}

/// Files larger than a few KiB cannot be written (RLIMIT_FSIZE, with SIGXFSZ
/// ignored as a shell's `ulimit -f` does): a clear error, exit 1, no file under a
/// final name half-written, and the summary still printed.
#[test]
fn a_full_disk_loses_nothing_that_was_printed() {
    // A run whose errors and files are judged.
    let _turn = common::turns::load();
    let tmp = tempfile::tempdir().unwrap();
    let s = common::scenario_file(
        tmp.path(),
        "full",
        "modes = [\"sse-s3\", \"sse-kms\"]\n[workload]\nkeys = 20\nsize = \"1KiB\"\n[[phases]]\nname = \"m\"\nduration = \"2s\"\nrate = 100\n",
    );
    let out = tmp.path().join("out");
    let mut cmd = common::sse_bench_command();
    cmd.arg("run").arg(&s).arg("--out").arg(&out);
    // SAFETY: setrlimit and signal are async-signal-safe; they run in the child before exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let lim = libc::rlimit {
                rlim_cur: 8 << 10,
                rlim_max: 8 << 10,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = cmd.output().unwrap();
    common::assert_exit(&o, 1);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("File too large"), "{e}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("Latency and throughput"), "{stdout}");
    assert!(stdout.contains("NOT written in full"), "{stdout}");
    // Whatever is there under a final name is whole: summary.json parses or is absent.
    if let Ok(text) = std::fs::read_to_string(out.join("summary.json")) {
        serde_json::from_str::<serde_json::Value>(&text).expect("a whole summary");
    }
    for f in std::fs::read_dir(&out).unwrap() {
        let name = f.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.ends_with(".tmp"), "{name} left behind");
    }
}

/// SIGKILL: the streamed time series and interval logs are readable, and `report`
/// renders what exists, marked incomplete.
#[test]
fn a_run_killed_with_sigkill_can_still_be_reported() {
    // A run whose errors and files are judged.
    let _turn = common::turns::load();
    let tmp = tempfile::tempdir().unwrap();
    let s = common::scenario_file(
        tmp.path(),
        "sigkill",
        "modes = [\"sse-kms\"]\n[workload]\nkeys = 20\nsize = \"1KiB\"\n[[phases]]\nname = \"m\"\nduration = \"60s\"\nrate = 200\n",
    );
    let out = tmp.path().join("out");
    let mut child = common::sse_bench_command()
        .args(["-q", "run"])
        .arg(&s)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_rows(&out, 5, &mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!out.join("summary.json").exists());
    let r = common::sse_bench_command()
        .arg("report")
        .arg(&out)
        .output()
        .unwrap();
    common::assert_exit(&r, 0);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Incomplete run"), "marked incomplete");
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    let put = md
        .lines()
        .find(|l| l.starts_with("| sse-kms | put |"))
        .unwrap_or_else(|| panic!("no PUT row in {md}"));
    let ops: u64 = put.split('|').nth(3).unwrap().trim().parse().unwrap();
    assert!(ops > 0, "{put}");
}

/// S3 5xx, connection resets, stalls and KMS throttling injected at once: the run
/// completes, every error is in its class, and no payload check fails for a request
/// that failed.
#[test]
fn every_simulator_fault_at_once_is_classified() {
    // A run whose errors and files are judged.
    let _turn = common::turns::load();
    let tmp = tempfile::tempdir().unwrap();
    let s = common::scenario_file(
        tmp.path(),
        "chaos",
        "modes = [\"sse-kms\"]\n[target]\nretries = \"off\"\ntimeout = \"1s\"\n[simulator]\nkms_quota_rps = 60\n[simulator.faults]\ns3_5xx = 0.05\nconnection_reset = 0.05\nstall_probability = 0.02\nstall = \"3s\"\n[workload]\nkeys = 20\nsize = \"1KiB\"\n[[phases]]\nname = \"m\"\nduration = \"3s\"\nrate = 150\n",
    );
    let out = tmp.path().join("out");
    let o = common::sse_bench_command()
        .args(["-q", "run"])
        .arg(&s)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    common::assert_exit(&o, 0);
    let sm = common::read_summary(&out);
    assert_eq!(sm["complete"], true);
    let errors = errors_by_class(&sm);
    for class in [
        "5xx:InternalError",
        "connection",
        "timeout",
        "throttled_kms",
    ] {
        assert!(
            errors.get(class).and_then(|v| v.as_u64()).unwrap_or(0) > 0,
            "{class} missing from {errors:?}"
        );
    }
    assert!(!errors.contains_key("integrity"), "{errors:?}");
}
