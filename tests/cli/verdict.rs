//! The verdict, end to end: a run whose KMS round trip adds a fixed 10 ms shows that
//! change, with an interval, first in every output (terminal, summary.md,
//! report.html, summary.json), and its charts keep legends off the data.

use crate::common;

use sse_bench::charts::{LEGEND_W, SIZE};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// S3 answers in a fixed 3 ms and KMS in a fixed 10 ms: SSE-KMS adds one KMS round
/// trip to every PUT and GET. Three interleaved rounds give the intervals.
const SCENARIO: &str = r#"
version = 1
name = "verdict-test"
modes = ["sse-s3", "sse-kms", "sse-kms-bucket-key"]
order = "interleaved"
rounds = 3
[simulator]
s3_latency = { median = "3ms", p99 = "3ms" }
kms_latency = { median = "10ms", p99 = "10ms" }
[workload]
keys = 40
size = "1KiB"
mix = { put = 1, get = 1 }
[[phases]]
name = "m"
duration = "1500ms"
concurrency = 4
[thresholds]
"sse-kms.put.p50_overhead" = "> 5ms"
"sse-kms-bucket-key.all.p50_overhead" = "< 5ms"
"#;

/// The run (made once for the file): its directory and what `run` printed.
fn run() -> &'static (PathBuf, String) {
    static RUN: OnceLock<(tempfile::TempDir, (PathBuf, String))> = OnceLock::new();
    &RUN.get_or_init(|| {
        // Its latency changes are judged: the machine to itself.
        let _turn = common::turns::timed();
        let tmp = tempfile::tempdir().unwrap();
        let sc = tmp.path().join("verdict-test.toml");
        std::fs::write(&sc, SCENARIO).unwrap();
        let out = tmp.path().join("run");
        let o = common::sse_bench_command()
            .args(["-q", "run"])
            .arg(&sc)
            .arg("--out")
            .arg(&out)
            .env_remove("GITHUB_STEP_SUMMARY")
            .output()
            .unwrap();
        common::assert_exit(&o, 0);
        let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
        (tmp, (out, stdout))
    })
    .1
}

fn summary() -> serde_json::Value {
    common::read_summary(&run().0)
}

fn change<'a>(v: &'a serde_json::Value, mode: &str, op: &str, p: &str) -> &'a serde_json::Value {
    v["verdict"]["modes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mode"] == mode)
        .unwrap()["latency"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["op"] == op && c["percentile"] == p)
        .unwrap()
}

#[test]
fn a_fixed_kms_round_trip_shows_as_a_change_beyond_noise() {
    let s = summary();
    for op in ["put", "get"] {
        let c = change(&s, "sse-kms", op, "p50");
        let ms = c["change_ms"].as_f64().unwrap();
        assert!((8.5..=12.5).contains(&ms), "{op}: {c}");
        assert_eq!(c["assessment"], "slower", "{op}: {c}");
        assert_eq!(c["rounds"], 3);
        let [lo, hi] = [
            c["interval_ms"][0].as_f64().unwrap(),
            c["interval_ms"][1].as_f64().unwrap(),
        ];
        assert!(lo > 0.0 && lo <= ms && ms <= hi, "{op}: {c}");
    }
    // Bucket Keys: no KMS call in the measured steps, so no round trip is added.
    let bk = change(&s, "sse-kms-bucket-key", "put", "p50");
    assert!(bk["change_ms"].as_f64().unwrap().abs() < 2.5, "{bk}");
    let kms = s["verdict"]["modes"][1]["kms"].clone();
    assert!(
        (kms["per_1000_ops"].as_f64().unwrap() - 1000.0).abs() < 1e-6,
        "{kms}"
    );
    assert!(kms["ops_per_s_at_quota"].as_f64().unwrap() > 0.0);
}

#[test]
fn thresholds_gate_the_paired_overhead() {
    let v = summary();
    let t = v["thresholds"].as_array().unwrap();
    let at = |name: &str| t.iter().find(|t| t["name"] == name).unwrap();
    // The overhead a threshold sees is the verdict's paired change.
    let kms = at("sse-kms.put.p50_overhead");
    assert_eq!(kms["passed"], true, "{kms}");
    assert_eq!(
        kms["actual"].as_f64(),
        change(&v, "sse-kms", "put", "p50")["change_ms"].as_f64()
    );
    // Over several operations the worst (largest) overhead decides.
    let bk = at("sse-kms-bucket-key.all.p50_overhead");
    assert_eq!(bk["passed"], true, "{bk}");
    let worst = ["put", "get"]
        .map(|op| {
            change(&v, "sse-kms-bucket-key", op, "p50")["change_ms"]
                .as_f64()
                .unwrap()
        })
        .into_iter()
        .fold(f64::MIN, f64::max);
    assert_eq!(bk["actual"].as_f64(), Some(worst));
}

#[test]
fn the_verdict_comes_first_everywhere() {
    let (dir, stdout) = run();
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("verdict-test on embedded"), "{stdout}");
    assert!(lines[1].starts_with("Verdict: what each mode changes against sse-s3"));
    assert!(
        stdout.find("Verdict:").unwrap() < stdout.find("Latency and throughput").unwrap(),
        "{stdout}"
    );
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    let md_lines: Vec<&str> = md.lines().filter(|l| !l.is_empty()).collect();
    assert!(
        md_lines[0].starts_with("### verdict-test on embedded"),
        "{md}"
    );
    assert!(md_lines[1].starts_with("### Verdict"), "{md}");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    let verdict = html.find("<section class=\"verdict\">").unwrap();
    assert!(verdict < html.find("<dl class=\"meta\">").unwrap());
    assert!(verdict < html.find("class=\"results\"").unwrap());
    // The simulator's settings are a table, not JSON.
    assert!(html.contains("<table class=\"settings\">") && html.contains("kms_latency.median"));
    assert!(!html.contains("{\"account_id\""));
    // The summary with its verdict validates against the checked-in schema.
    let s = summary();
    let errors = common::schema_errors(&s);
    assert!(errors.is_empty(), "{errors:?}");
    assert!(
        s["verdict"]["caveats"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["kind"] == "not_aws")
    );
}

#[test]
fn compare_shows_the_current_runs_verdict_after_its_table() {
    let dir = &run().0;
    let o = common::sse_bench_command()
        .arg("compare")
        .args([dir, dir])
        .output()
        .unwrap();
    common::assert_exit(&o, 0);
    let out = String::from_utf8_lossy(&o.stdout);
    let gate = out.find("baseline ").unwrap();
    let verdict = out
        .find("Verdict: what each mode changes against sse-s3")
        .unwrap();
    assert!(gate < verdict, "{out}");
    // The verdict's own rows follow, with the 10 ms KMS round trip.
    let row = out[verdict..]
        .lines()
        .find(|l| l.starts_with("sse-kms ") && l.contains(" put "))
        .unwrap();
    assert!(row.contains(" ms ("), "{row}");
}

/// A polyline's points.
type Polyline = Vec<(f64, f64)>;
/// A text's position and content.
type Label = (f64, f64, String);

/// Points of every polyline and the position of every text of an SVG chart.
fn svg_shapes(text: &str) -> (Vec<Polyline>, Vec<Label>) {
    let mut lines = Vec::new();
    let mut texts = Vec::new();
    let mut r = quick_xml::Reader::from_str(text);
    let mut pending: Option<(f64, f64)> = None;
    loop {
        match r.read_event().unwrap() {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                let attr = |name: &[u8]| {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == name)
                        .map(|a| String::from_utf8_lossy(&a.value).into_owned())
                };
                match e.name().as_ref() {
                    b"polyline" => {
                        let pts = attr(b"points")
                            .unwrap_or_default()
                            .split_whitespace()
                            .filter_map(|p| {
                                let (x, y) = p.split_once(',')?;
                                Some((x.parse().ok()?, y.parse().ok()?))
                            })
                            .collect();
                        lines.push(pts);
                    }
                    b"text" => {
                        let n = |a: &[u8]| attr(a).and_then(|v| v.parse().ok()).unwrap_or(0.0);
                        pending = Some((n(b"x"), n(b"y")));
                    }
                    _ => {}
                }
            }
            quick_xml::events::Event::Text(t) => {
                if let Some((x, y)) = pending.take() {
                    texts.push((x, y, String::from_utf8_lossy(&t).into_owned()));
                }
            }
            _ => {}
        }
    }
    (lines, texts)
}

#[test]
fn legends_stand_beside_the_data_and_text_stays_legible_at_half_size() {
    let dir = &run().0;
    let plot_right = (SIZE.0 - LEGEND_W) as f64;
    let svgs: Vec<PathBuf> = std::fs::read_dir(dir.join("charts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "svg"))
        .collect();
    assert!(svgs.iter().any(|p| p.ends_with("change_vs_sse_s3.svg")));
    for p in &svgs {
        let text = std::fs::read_to_string(p).unwrap();
        let (lines, texts) = svg_shapes(&text);
        // A data line lies in the plot; a legend sample lies in the panel; none crosses.
        for l in &lines {
            let min = l.iter().map(|q| q.0).fold(f64::MAX, f64::min);
            let max = l.iter().map(|q| q.0).fold(f64::MIN, f64::max);
            assert!(
                max <= plot_right + 1.0 || min >= plot_right,
                "{}: a line runs from x {min} to {max} across the legend's edge at {plot_right}",
                p.display()
            );
        }
        // Every mode name in the panel is a legend entry: none sits over the plot.
        let legend: Vec<&(f64, f64, String)> = texts.iter().filter(|t| t.0 >= plot_right).collect();
        assert!(!legend.is_empty(), "{}: a legend", p.display());
        // Text is drawn at 20 px or more (plotters writes 0.8 of that as the SVG font
        // size): 10 px or more at half size.
        for size in text.match_indices("font-size=\"").map(|(i, _)| {
            text[i + 11..]
                .split('"')
                .next()
                .and_then(|v| v.trim_end_matches("px").parse::<f64>().ok())
                .unwrap_or(0.0)
        }) {
            assert!(size >= 16.0, "{}: text of {size} px", p.display());
        }
    }
}

/// Chromium (installed by `.ci/run`) screenshots the report at a width; the verdict's
/// background colour must show in the first screenful.
fn verdict_visible_at(width: u32, dir: &Path) -> f64 {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("chromium is installed by .ci/run");
    let tmp = tempfile::tempdir().unwrap();
    let shot = tmp.path().join("shot.png");
    let o = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!(
            "--user-data-dir={}",
            tmp.path().join("profile").display()
        ))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("--window-size={width},720"))
        .arg(format!("file://{}", dir.join("report.html").display()))
        .output()
        .unwrap();
    common::assert_exit(&o, 0);
    let img = image::open(&shot).unwrap().to_rgb8();
    let verdict_bg = img
        .pixels()
        .filter(|p| p[0] >= 253 && (245..=249).contains(&p[1]) && (212..=216).contains(&p[2]))
        .count();
    let _ = Command::new("pkill")
        .args(["-f", &tmp.path().display().to_string()])
        .status();
    verdict_bg as f64 / (img.width() * img.height()) as f64
}

#[test]
fn the_verdict_is_visible_without_scrolling_at_1280_and_800_px() {
    let dir = &run().0;
    // Chromium takes the CPU a timed run would need (the turn is taken after the shared
    // run exists: that run takes its own).
    let _turn = common::turns::load();
    for width in [1280, 800] {
        let share = verdict_visible_at(width, dir);
        assert!(
            share > 0.15,
            "at {width} px the first screenful shows {:.1}% of the verdict's background",
            100.0 * share
        );
    }
}
