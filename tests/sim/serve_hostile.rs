//! The simulator under hostile clients, over raw TCP: every request of a corpus of
//! malformed, oversized, slow and mis-signed ones gets a 4xx or a closed connection
//! within a bound, never a hang or a panic, and the server answers a normal client
//! afterwards. Property tests feed the request handlers and the scenario parser
//! arbitrary input.

use crate::common;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use sse_sim::{HumanDuration, SimConfig, Simulator};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime};

/// Short limits, so the slow cases finish quickly.
fn config() -> SimConfig {
    let mut c = SimConfig::default();
    c.limits.max_body_bytes = 1 << 20;
    c.limits.max_header_bytes = 16 << 10;
    c.limits.header_timeout = HumanDuration(Duration::from_secs(1));
    c.limits.body_idle_timeout = HumanDuration(Duration::from_secs(1));
    c
}

/// What came back: the status of the first response, if any, and how long it took
/// for the server to answer or close.
struct Answer {
    status: Option<u16>,
    took: Duration,
}

/// Sends raw bytes (then waits, without sending more) and reads until the server
/// answers and closes, or 10 s pass.
fn exchange(addr: &str, request: &[u8]) -> Answer {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr.trim_start_matches("http://")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // The server may close before reading everything: a failed write is an answer too.
    let _ = s.write_all(request);
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                // One whole response is enough once the head is in.
                if got.windows(4).any(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&got);
                    let len = head.lines().find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    });
                    let head_end = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                    if len.is_some_and(|n| got.len() >= head_end + n) {
                        break;
                    }
                }
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                panic!("no answer and no close within 10 s");
            }
            Err(_) => break,
        }
    }
    let status = std::str::from_utf8(&got)
        .ok()
        .and_then(|t| t.strip_prefix("HTTP/1.1 "))
        .and_then(|t| t.get(..3))
        .and_then(|c| c.parse().ok());
    Answer {
        status,
        took: started.elapsed(),
    }
}

/// A request signed as the simulator's first requester, with its body's hash (or
/// the `payload` marker given) in `x-amz-content-sha256`.
fn signed(
    sim: &Simulator,
    (url, service): (&str, &str),
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    payload: Option<&str>,
    body: &[u8],
) -> Vec<u8> {
    let cred = &sim.credentials()[0];
    let identity = Credentials::new(
        &cred.access_key_id,
        &cred.secret_access_key,
        None,
        None,
        "test",
    )
    .into();
    let host = url.trim_start_matches("http://").to_owned();
    let hash = payload.map_or_else(|| hex::encode(Sha256::digest(body)), str::to_owned);
    let mut all: Vec<(String, String)> = vec![
        ("host".into(), host.clone()),
        ("x-amz-content-sha256".into(), hash.clone()),
    ];
    all.extend(headers.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name(service)
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let signable = SignableRequest::new(
        method,
        format!("{url}{path}"),
        all.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Precomputed(hash),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    for (k, v) in all
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(instructions.headers())
    {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    {
        head.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

fn assert_refused(name: &str, a: &Answer, bound: Duration) {
    assert!(
        a.status.is_none_or(|s| (400..500).contains(&s)),
        "{name}: answered {:?}",
        a.status
    );
    assert!(a.took < bound, "{name}: took {:?}", a.took);
}

#[test]
fn a_corpus_of_hostile_requests_is_refused_and_the_server_lives_on() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt.block_on(common::start(config()));
    let (s3, kms) = (sim.sim.s3_endpoint(), sim.sim.kms_endpoint());
    let host = s3.trim_start_matches("http://");
    rt.block_on(common::bucket(&sim.s3, "hostile", "AES256", None, false));
    let bound = Duration::from_secs(8);
    let s = &sim.sim;

    // Oversized headers: 431 before anything else.
    let big = format!(
        "GET /hostile/k HTTP/1.1\r\nhost: {host}\r\nx-big: {}\r\n\r\n",
        "a".repeat(64 << 10)
    );
    let a = exchange(&s3, big.as_bytes());
    assert_eq!(a.status, Some(431), "oversized headers");

    // A body above the limit: EntityTooLarge, as S3 says it.
    let huge = signed(
        s,
        (&s3, "s3"),
        "PUT",
        "/hostile/big",
        &[("content-length", "2097152")],
        Some("UNSIGNED-PAYLOAD"),
        b"",
    );
    let a = exchange(&s3, &huge);
    assert_eq!(a.status, Some(400), "entity too large");

    // A truncated body: the request fails once the body stalls, the connection closes.
    let truncated = signed(
        s,
        (&s3, "s3"),
        "PUT",
        "/hostile/t",
        &[("content-length", "1000")],
        Some("UNSIGNED-PAYLOAD"),
        b"only ten b",
    );
    assert_refused("truncated body", &exchange(&s3, &truncated), bound);

    // A content-length shorter than the body: the rest is a malformed second request.
    let mut wrong = signed(
        s,
        (&s3, "s3"),
        "PUT",
        "/hostile/w",
        &[("content-length", "5")],
        Some("UNSIGNED-PAYLOAD"),
        b"",
    );
    wrong.extend_from_slice(b"hellothis is not http\r\n\r\n");
    let a = exchange(&s3, &wrong);
    assert!(a.took < bound, "wrong content-length: {:?}", a.took);

    // aws-chunked with chunk signatures that do not match.
    let chunked = format!(
        "5;chunk-signature={z}\r\nhello\r\n0;chunk-signature={z}\r\n\r\n",
        z = "0".repeat(64)
    );
    let req = signed(
        s,
        (&s3, "s3"),
        "PUT",
        "/hostile/c",
        &[
            ("content-encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "5"),
        ],
        Some("STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
        chunked.as_bytes(),
    );
    assert_refused("aws-chunked, bad signatures", &exchange(&s3, &req), bound);

    // Malformed SigV4.
    let bad = format!(
        "GET /hostile/k HTTP/1.1\r\nhost: {host}\r\nauthorization: AWS4-HMAC-SHA256 Credential=/,,,\r\nx-amz-date: nope\r\n\r\n"
    );
    assert_refused("malformed SigV4", &exchange(&s3, bad.as_bytes()), bound);

    // Invalid UTF-8 in a key, and keys of 1,024 bytes (allowed) and 1,025 (not).
    let req = signed(s, (&s3, "s3"), "GET", "/hostile/%FF%FE", &[], None, b"");
    assert_refused("invalid UTF-8 key", &exchange(&s3, &req), bound);
    let long = |n: usize| format!("/hostile/{}", "k".repeat(n));
    let ok = signed(s, (&s3, "s3"), "PUT", &long(1024), &[], None, b"x");
    assert_eq!(
        exchange(&s3, &ok).status,
        Some(200),
        "a 1,024-byte key is S3's limit"
    );
    let req = signed(s, (&s3, "s3"), "PUT", &long(1025), &[], None, b"x");
    assert_refused("1,025-byte key", &exchange(&s3, &req), bound);

    // Deeply nested and malformed XML in DeleteObjects.
    let nested = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
    for (name, xml) in [
        ("deep XML", nested.as_str()),
        ("broken XML", "<Delete><Object><Key>x</Obj"),
    ] {
        let md5 = base64_md5(xml.as_bytes());
        let req = signed(
            s,
            (&s3, "s3"),
            "POST",
            "/hostile?delete",
            &[("content-md5", &md5)],
            None,
            xml.as_bytes(),
        );
        assert_refused(name, &exchange(&s3, &req), bound);
    }

    // KMS: malformed JSON, and a payload hash that is not the body's.
    let body = br#"{"KeyId": "alias/x", "#;
    let req = signed(
        s,
        (&kms, "kms"),
        "POST",
        "/",
        &[
            ("x-amz-target", "TrentService.GenerateDataKey"),
            ("content-type", "application/x-amz-json-1.1"),
        ],
        None,
        body,
    );
    assert_refused("malformed JSON", &exchange(&kms, &req), bound);
    let honest = br#"{"KeyId": "alias/x", "KeySpec": "AES_256"}"#;
    let claimed = hex::encode(Sha256::digest(b"{}"));
    let req = signed(
        s,
        (&kms, "kms"),
        "POST",
        "/",
        &[
            ("x-amz-target", "TrentService.ListKeys"),
            ("content-type", "application/x-amz-json-1.1"),
        ],
        Some(&claimed),
        honest,
    );
    let a = exchange(&kms, &req);
    assert_eq!(a.status, Some(400), "payload hash checked against the body");

    // Still serving a well-behaved client.
    rt.block_on(common::put(
        &sim.s3,
        "hostile",
        "after",
        b"still here".to_vec(),
    ));
    assert_eq!(
        rt.block_on(common::get(&sim.s3, "hostile", "after")),
        b"still here"
    );
}

fn base64_md5(b: &[u8]) -> String {
    use base64::Engine as _;
    let digest = md5_digest(b);
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// MD5 by the RFC 1321 reference algorithm (S3 wants Content-MD5 on DeleteObjects;
/// no MD5 crate is worth adding for one test).
fn md5_digest(input: &[u8]) -> [u8; 16] {
    let s: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    let k: Vec<u32> = (0..64)
        .map(|i| ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32)
        .collect();
    let (mut a0, mut b0, mut c0, mut d0) =
        (0x67452301u32, 0xefcdab89u32, 0x98badcfeu32, 0x10325476u32);
    let mut msg = input.to_vec();
    let bits = (input.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_le_bytes());
    for chunk in msg.chunks(64) {
        let m: Vec<u32> = chunk
            .chunks(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(s[i]));
        }
        a0 = a0.wrapping_add(a);
        b0 = b0.wrapping_add(b);
        c0 = c0.wrapping_add(c);
        d0 = d0.wrapping_add(d);
    }
    let mut out = [0u8; 16];
    for (i, v) in [a0, b0, c0, d0].iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
    }
    out
}

#[test]
fn md5_matches_the_rfc_test_vectors() {
    assert_eq!(
        hex::encode(md5_digest(b"")),
        "d41d8cd98f00b204e9800998ecf8427e"
    );
    assert_eq!(
        hex::encode(md5_digest(b"The quick brown fox jumps over the lazy dog")),
        "9e107d9d372bb6826bd81d3542a419d6"
    );
}

/// A slowloris client, sending its head a byte at a time and never finishing, is
/// disconnected after the header timeout.
#[test]
fn a_slow_client_is_disconnected() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt.block_on(common::start(config()));
    let addr = sim.sim.s3_endpoint();
    let mut s = TcpStream::connect(addr.trim_start_matches("http://")).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let started = Instant::now();
    let head = b"GET /bucket/key HTTP/1.1\r\nhost: x\r\nx-slow: ";
    let mut closed = false;
    // At most 10 s of dripping, one byte per read timeout.
    for b in head.iter().chain(std::iter::repeat(&b'a')).take(50) {
        if s.write_all(&[*b]).is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 512];
        match s.read(&mut buf) {
            Ok(_) => {
                closed = true;
                break;
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => {
                closed = true;
                break;
            }
        }
    }
    assert!(closed, "still connected after {:?}", started.elapsed());
    // The header timeout is 1 s; scheduling noise gets the rest.
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
}

/// Binding beyond loopback needs `--allow-remote`, and warns when given it.
#[test]
fn serve_refuses_other_addresses_without_a_flag() {
    let o = common::sse_bench_command()
        .args(["serve", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    common::assert_exit(&o, 2);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("--allow-remote") && e.contains("0.0.0.0"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Arbitrary bytes after a valid request line reach hyper and the handlers: the
    /// answer is a 4xx or a close, within the bound, and the server keeps serving.
    #[test]
    fn arbitrary_requests_never_hang_or_crash(tail in proptest::collection::vec(any::<u8>(), 0..600), method in prop::sample::select(vec!["GET", "PUT", "POST", "HEAD", "DELETE"])) {
        thread_local! {
            static SIM: (tokio::runtime::Runtime, common::Sim) = {
                let rt = tokio::runtime::Runtime::new().unwrap();
                let sim = rt.block_on(common::start(config()));
                (rt, sim)
            };
        }
        SIM.with(|(rt, sim)| {
            let mut req = format!("{method} /b/k HTTP/1.1\r\n").into_bytes();
            req.extend_from_slice(&tail);
            for url in [sim.sim.s3_endpoint(), sim.sim.kms_endpoint()] {
                let a = exchange(&url, &req);
                prop_assert!(a.status.is_none_or(|s| (400..500).contains(&s)), "{:?}", a.status);
                prop_assert!(a.took < Duration::from_secs(8));
            }
            let ok = rt.block_on(sim.s3.list_buckets().send());
            prop_assert!(ok.is_ok());
            Ok(())
        })?;
    }

    /// The scenario parser answers any text with a scenario or errors, never a panic.
    #[test]
    fn the_scenario_parser_never_panics(text in "(version = 1\n)?(name = \"[a-z]{1,5}\"\n)?([a-z_\\[\\]\\.=\"0-9 \n{},]{0,200})") {
        let _ = sse_bench::scenario::parse(std::path::Path::new("p.toml"), &text);
    }

    /// Mutations of a valid scenario: numbers anywhere, including absurd ones.
    #[test]
    fn absurd_numbers_in_a_valid_scenario_are_errors_not_panics(c in any::<u32>(), k in any::<u64>(), r in any::<f64>(), d in "[0-9]{1,12}(ms|s|m|h)") {
        let text = format!("version = 1\nname = \"p\"\nmodes = [\"sse-s3\"]\n[workload]\nkeys = {k}\n[[phases]]\nname = \"a\"\nduration = \"{d}\"\nconcurrency = {c}\n[[phases]]\nname = \"b\"\nduration = \"{d}\"\nrate = {r:?}\n");
        if let Ok(ls) = sse_bench::scenario::parse(std::path::Path::new("p.toml"), &text) {
            let _ = sse_bench::bounds::check(&ls, &sse_bench::bounds::Machine::default(), sse_bench::bounds::RunShape::default());
        }
    }
}
