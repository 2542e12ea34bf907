//! Charts and reports from a real short run: every chart as PNG (decodes, right
//! size, not blank) and SVG (well-formed, names the modes and axes), a
//! self-contained report.html, summary.md, overlays of several runs, and the
//! page rendered by headless Chromium (installed by `.ci/run`).

use crate::common;
use sse_bench::charts::SIZE;
use sse_bench::run::{RunOptions, run_loaded};
use sse_bench::scenario;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use tokio_util::sync::CancellationToken;

/// Two modes, a steady and a ramped phase past a small quota: every kind of chart.
const SCENARIO: &str = r#"
version = 1
name = "report-test"
modes = ["sse-kms", "sse-kms-bucket-key"]
order = "sequential"
[simulator]
kms_quota_rps = 150
s3_latency = { median = "2ms", p99 = "8ms" }
kms_latency = { median = "1ms", p99 = "4ms" }
[workload]
keys = 50
size = "2KiB"
mix = { put = 1, get = 1 }
[[phases]]
name = "steady"
duration = "2s"
rate = 80
[[phases]]
name = "ramp"
duration = "5s"
rate = { from = 100, to = 250 }
"#;

/// One run shared by the tests of this file (made once).
fn run_dir() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let _turn = common::turns::load();
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("run");
        let ls = scenario::parse(Path::new("report-test.toml"), SCENARIO).unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let opts = RunOptions {
                out: Some(out.clone()),
                quiet: true,
                ..Default::default()
            };
            run_loaded(&ls, opts, CancellationToken::new(), None)
                .await
                .unwrap()
        });
        (tmp, out)
    })
    .1
}

fn charts(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("charts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

/// Per-pixel luminance and its variance (a blank, one-colour image has none).
fn luminance(img: &image::RgbImage) -> (Vec<f64>, f64) {
    let lum: Vec<f64> = img
        .pixels()
        .map(|p| (p[0] as f64 + p[1] as f64 + p[2] as f64) / 3.0)
        .collect();
    let mean = lum.iter().sum::<f64>() / lum.len() as f64;
    let var = lum.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / lum.len() as f64;
    (lum, var)
}

fn stem(p: &Path) -> String {
    p.file_stem().unwrap().to_string_lossy().into_owned()
}

#[test]
fn every_chart_is_drawn_as_png_and_svg() {
    let dir = run_dir();
    let pngs = charts(dir, "png");
    let names: Vec<String> = pngs.iter().map(|p| stem(p)).collect();
    for expected in [
        "latency_spectrum_put",
        "latency_spectrum_get",
        "throughput_p99_over_time",
        "kms_per_1000_ops",
        "kms_rps_over_time",
        "cost_per_million_ops",
        "ramp_sse-kms_ramp_r1",
        "ramp_sse-kms-bucket-key_ramp_r1",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    for p in &pngs {
        let img = image::open(p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .to_rgb8();
        assert_eq!(img.dimensions(), SIZE, "{}", p.display());
        // Not blank: the pixels vary (a white or one-colour image has no variance).
        let (lum, var) = luminance(&img);
        assert!(var > 50.0, "{} looks blank (variance {var})", p.display());
        let dark = lum.iter().filter(|l| **l < 128.0).count();
        assert!(
            dark > 2000,
            "{}: {dark} dark pixels: no text or lines",
            p.display()
        );
    }
    let svgs = charts(dir, "svg");
    assert_eq!(svgs.len(), pngs.len());
    for p in &svgs {
        let text = std::fs::read_to_string(p).unwrap();
        let mut r = quick_xml::Reader::from_str(&text);
        let mut elements = 0;
        loop {
            match r
                .read_event()
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            {
                quick_xml::events::Event::Eof => break,
                quick_xml::events::Event::Start(_) | quick_xml::events::Event::Empty(_) => {
                    elements += 1
                }
                _ => {}
            }
        }
        assert!(elements > 20, "{}", p.display());
        let name = stem(p);
        let modes_named = text.contains("sse-kms-bucket-key") || name.starts_with("ramp_");
        assert!(modes_named, "{name}: mode names");
        let axis = match name.as_str() {
            n if n.starts_with("latency_spectrum") => "percentile",
            "throughput_p99_over_time" => "operations per second",
            "kms_per_1000_ops" => "KMS calls per 1,000 S3 operations",
            "kms_rps_over_time" => "KMS requests per second",
            "cost_per_million_ops" => "USD per million operations",
            _ => "offered operations per second",
        };
        assert!(text.contains(axis), "{name}: axis title {axis:?}");
        assert!(
            text.contains("report-test"),
            "{name}: the title names the scenario"
        );
    }
}

#[test]
fn report_html_is_self_contained() {
    let dir = run_dir();
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    let n_charts = charts(dir, "svg").len();
    assert_eq!(html.matches("<figure class=\"chart\"").count(), n_charts);
    assert_eq!(
        html.matches("<svg").count(),
        n_charts,
        "charts inline as SVG"
    );
    // The tables, the run's metadata, its names and sections.
    let wanted = "class=\"results\" class=\"kms\" class=\"cost\" class=\"meta\" report-test sse-kms-bucket-key embedded";
    for needle in wanted.split(' ').chain(["Throttling knees"]) {
        assert!(html.contains(needle), "{needle}");
    }
    // Nothing to fetch: no scripts, no links, no external sources; CSP forbids any.
    for bad in [
        "<script",
        "<link",
        "src=\"http",
        "href=\"http",
        "url(http",
        "@import",
    ] {
        assert!(!html.contains(bad), "{bad}");
    }
    assert!(html.contains("Content-Security-Policy") && html.contains("default-src 'none'"));
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(md.contains("| mode | op | ops |") && md.contains("sse-kms-bucket-key"));
}

#[test]
fn report_rerenders_and_overlays_runs() {
    let dir = run_dir();
    let tmp = tempfile::tempdir().unwrap();
    // Two copies of the run stand for two runs of one scenario.
    let (a, b) = (tmp.path().join("night-1"), tmp.path().join("night-2"));
    for d in [&a, &b] {
        copy_dir(dir, d);
        std::fs::remove_dir_all(d.join("charts")).unwrap();
        std::fs::remove_file(d.join("report.html")).unwrap();
    }
    // `sse-bench report ARGS...` with the step summary file `step` (or none); it must succeed.
    let report = |args: &[&Path], step: Option<&Path>| {
        let mut c = common::sse_bench_command();
        c.arg("report").args(args).env_remove("GITHUB_STEP_SUMMARY");
        if let Some(s) = step {
            c.env("GITHUB_STEP_SUMMARY", s);
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let step = tmp.path().join("step-summary.md");
    report(&[&a], Some(&step));
    assert!(a.join("report.html").exists() && a.join("charts/kms_per_1000_ops.svg").exists());
    assert!(
        std::fs::read_to_string(&step)
            .unwrap()
            .contains("| mode | op | ops |")
    );

    let over = tmp.path().join("overlay");
    report(&[&a, &b, Path::new("--out"), &over], None);
    let svg = std::fs::read_to_string(over.join("charts/latency_spectrum_get.svg")).unwrap();
    assert!(
        svg.contains("night-1: sse-kms") && svg.contains("night-2: sse-kms"),
        "overlaid series are labelled by run"
    );
    let html = std::fs::read_to_string(over.join("report.html")).unwrap();
    assert!(html.contains("<h2>night-1</h2>") && html.contains("<h2>night-2</h2>"));

    // Several directories without --out, or a directory that is not a result: exit 2.
    let code = |args: &[&Path]| {
        common::sse_bench_command()
            .arg("report")
            .args(args)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(code(&[&a, &b]), Some(2));
    assert_eq!(code(&[tmp.path()]), Some(2));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

/// Headless Chromium opens the page, renders it, and requests nothing from the network.
#[test]
fn chromium_renders_the_report_without_network() {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("chromium is installed (.ci/run installs Debian's chromium)");
    let dir = run_dir();
    // Chromium takes the CPU a timed run would need (the turn is taken after the shared
    // run exists: that run takes its own).
    let _turn = common::turns::load();
    let tmp = tempfile::tempdir().unwrap();
    let page = format!("file://{}", dir.join("report.html").display());
    let common = |profile: &str| -> Vec<String> {
        [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([format!(
            "--user-data-dir={}",
            tmp.path().join(profile).display()
        )])
        .collect()
    };
    // The DOM after rendering: the tables and one element per chart.
    // Chromium with the flags of one profile and `args`; it must succeed.
    let browse = |profile: &str, args: &[String]| {
        let o = Command::new(chromium)
            .args(common(profile))
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o
    };
    let dom = browse("dom", &["--dump-dom".into(), page.clone()]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("class=\"results\"") && dom.contains("class=\"kms\""));
    assert_eq!(
        dom.matches("class=\"chart\"").count(),
        charts(dir, "svg").len(),
        "one element per chart"
    );
    // A screenshot, with every network event logged.
    let shot = tmp.path().join("shot.png");
    let netlog = tmp.path().join("net.json");
    browse(
        "shot",
        &[
            format!("--screenshot={}", shot.display()),
            format!("--log-net-log={}", netlog.display()),
            "--window-size=1200,2400".into(),
            page.clone(),
        ],
    );
    let img = image::open(&shot).unwrap().to_rgb8();
    let (_, var) = luminance(&img);
    assert!(var > 50.0, "the screenshot is blank (variance {var})");
    let requested = page_requests(&netlog);
    assert!(requested.is_empty(), "the report requested {requested:?}");

    // The check itself sees a page that does fetch something.
    let probe = tmp.path().join("probe.html");
    std::fs::write(
        &probe,
        "<html><body><img src=\"http://127.0.0.1:9/x.png\"></body></html>",
    )
    .unwrap();
    let probe_log = tmp.path().join("probe.json");
    browse(
        "probe",
        &[
            format!("--screenshot={}", tmp.path().join("probe.png").display()),
            format!("--log-net-log={}", probe_log.display()),
            format!("file://{}", probe.display()),
        ],
    );
    assert_eq!(
        page_requests(&probe_log),
        vec!["http://127.0.0.1:9/x.png".to_owned()]
    );
    stop_leftovers(tmp.path());
}

/// Chromium helpers can outlive the browser for a moment; timing tests that run next
/// must not share the cores with them. Stops every process using our profiles.
fn stop_leftovers(profiles: &Path) {
    let pattern = profiles.display().to_string();
    let _ = Command::new("pkill").args(["-f", &pattern]).status();
    for _ in 0..50 {
        let alive = Command::new("pgrep")
            .args(["-f", &pattern])
            .output()
            .map(|o| !o.stdout.is_empty())
            .unwrap_or(false);
        if !alive {
            return;
        }
        let _ = Command::new("pkill").args(["-9", "-f", &pattern]).status();
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// http(s) requests a page initiated, from a Chromium net log. Chromium's own
/// background requests (time sync, accounts) carry the initiator "not an origin".
fn page_requests(netlog: &Path) -> Vec<String> {
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(netlog).unwrap()).unwrap();
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].clone();
    let mut urls: Vec<String> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == start_job)
        .filter(|e| e["params"]["initiator"].as_str() != Some("not an origin"))
        .filter_map(|e| e["params"]["url"].as_str())
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .map(str::to_owned)
        .collect();
    urls.dedup();
    urls
}
