//! Shared helpers for integration tests: a simulator with SDK clients.
#![allow(dead_code)]

pub mod forecast;
pub mod transcript;
pub mod turns;

use sse_bench::targets::{ClientOptions, StaticCredentials, kms_client, s3_client};
use sse_sim::{Clock, SimConfig, Simulator};
use std::net::SocketAddr;

/// Asserts a finished command exited with `code`, showing its stderr otherwise.
pub fn assert_exit(o: &std::process::Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The sse-bench binary, as a command.
pub fn sse_bench_command() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_sse-bench"))
}

/// Runs sse-bench with `args` (no CI step summary); returns the exit code, stdout, stderr.
#[allow(dead_code)]
pub fn sse_bench_output(args: &[&str]) -> (i32, String, String) {
    let out = sse_bench_command()
        .args(args)
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .expect("run sse-bench");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes `dir/NAME.toml`: version 1, the name, then `body`.
pub fn scenario_file(dir: &std::path::Path, name: &str, body: &str) -> std::path::PathBuf {
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, format!("version = 1\nname = \"{name}\"\n{body}")).unwrap();
    p
}

/// The summary.json of a results directory.
pub fn read_summary(dir: impl AsRef<std::path::Path>) -> serde_json::Value {
    let path = dir.as_ref().join("summary.json");
    serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Deterministic test bytes.
pub fn payload(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// A running simulator plus clients for its first requester.
pub struct Sim {
    pub sim: Simulator,
    pub s3: aws_sdk_s3::Client,
    pub kms: aws_sdk_kms::Client,
}

pub async fn start(config: SimConfig) -> Sim {
    start_with_clock(config, Clock::real()).await
}

pub async fn start_with_clock(config: SimConfig, clock: Clock) -> Sim {
    let lo = SocketAddr::from(([127, 0, 0, 1], 0));
    let sim = Simulator::start_on(config, clock, lo, lo)
        .await
        .expect("simulator starts");
    let s3 = s3_for(&sim, 0);
    let kms = kms_for(&sim, 0);
    Sim { sim, s3, kms }
}

pub fn options(sim: &Simulator, endpoint: String, requester: usize) -> ClientOptions {
    let creds = StaticCredentials::from(&sim.credentials()[requester]);
    ClientOptions::endpoint(&endpoint, &sim.config().region, creds)
}

pub fn s3_for(sim: &Simulator, requester: usize) -> aws_sdk_s3::Client {
    s3_client(&options(sim, sim.s3_endpoint(), requester))
}

pub fn kms_for(sim: &Simulator, requester: usize) -> aws_sdk_kms::Client {
    kms_client(&options(sim, sim.kms_endpoint(), requester))
}

/// Creates a bucket with the given default encryption ("AES256", "aws:kms", "aws:kms:dsse").
pub async fn bucket(
    s3: &aws_sdk_s3::Client,
    name: &str,
    alg: &str,
    key: Option<&str>,
    bucket_key: bool,
) {
    use aws_sdk_s3::types::*;
    s3.create_bucket()
        .bucket(name)
        .send()
        .await
        .expect("create bucket");
    let by_default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::from(alg))
        .set_kms_master_key_id(key.map(str::to_owned))
        .build()
        .unwrap();
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(by_default)
        .bucket_key_enabled(bucket_key)
        .build();
    let conf = ServerSideEncryptionConfiguration::builder()
        .rules(rule)
        .build()
        .unwrap();
    s3.put_bucket_encryption()
        .bucket(name)
        .server_side_encryption_configuration(conf)
        .send()
        .await
        .expect("put encryption");
}

/// Creates a KMS key with an alias; returns the key ARN.
pub async fn key(kms: &aws_sdk_kms::Client, alias: &str) -> String {
    let meta = kms
        .create_key()
        .description("test")
        .send()
        .await
        .expect("create key")
        .key_metadata
        .unwrap();
    kms.create_alias()
        .alias_name(alias)
        .target_key_id(meta.key_id())
        .send()
        .await
        .expect("create alias");
    meta.arn.unwrap()
}

pub async fn put(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
) -> aws_sdk_s3::operation::put_object::PutObjectOutput {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(body.into())
        .send()
        .await
        .expect("put")
}

pub async fn get(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("get");
    out.body
        .collect()
        .await
        .expect("body")
        .into_bytes()
        .to_vec()
}

/// The error code and HTTP status of a failed SDK call (0 when no response came).
pub fn s3_code<E>(
    err: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> (String, u16)
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::fmt::Debug,
{
    use aws_sdk_s3::error::SdkError;
    match err {
        SdkError::ServiceError(s) => (
            s.err().code().unwrap_or("").to_owned(),
            s.raw().status().as_u16(),
        ),
        other => (format!("{other:?}"), 0),
    }
}

/// The message of a failed SDK call.
pub fn s3_message<E>(
    err: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata,
{
    match err {
        aws_sdk_s3::error::SdkError::ServiceError(s) => s.err().message().unwrap_or("").to_owned(),
        _ => String::new(),
    }
}

/// Plain HTTP/1.1 request to the admin endpoint; returns (status, body).
pub async fn http(method: &str, url: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    let req = format!(
        "{method} /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text[9..12].parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// `sse-bench serve` on an ephemeral port as a separate process; killed on drop.
pub struct ServeProcess {
    child: std::process::Child,
    pub s3: String,
    pub kms: String,
    /// Admin base URL (`.../_sim`).
    pub admin: String,
    pub access_key: String,
    pub secret_key: String,
    /// Every requester credential the banner lists (the first is `access_key`).
    #[allow(dead_code)]
    pub creds: Vec<(String, String)>,
}

#[allow(dead_code)]
impl ServeProcess {
    fn options(&self, url: &str) -> sse_bench::targets::ClientOptions {
        sse_bench::targets::ClientOptions::endpoint(
            url,
            "us-east-1",
            sse_bench::targets::StaticCredentials {
                access_key_id: self.access_key.clone(),
                secret_access_key: self.secret_key.clone(),
            },
        )
    }

    /// Stops `serve` as Ctrl-C does (SIGINT) and waits for it: it writes out its logs first.
    pub fn interrupt(self) -> std::process::ExitStatus {
        self.signal(libc::SIGINT)
    }

    /// Stops `serve` as `docker stop` and systemd do (SIGTERM) and waits for it.
    pub fn terminate(self) -> std::process::ExitStatus {
        self.signal(libc::SIGTERM)
    }

    fn signal(mut self, sig: libc::c_int) -> std::process::ExitStatus {
        // SAFETY: kill(2) on our own child's pid, which has not been waited for yet.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, sig);
        }
        self.child.wait().expect("wait for serve")
    }

    /// An S3 client for the simulator, as its first requester.
    pub fn s3_client(&self, rt: &tokio::runtime::Runtime) -> aws_sdk_s3::Client {
        let _g = rt.enter();
        sse_bench::targets::s3_client(&self.options(&self.s3))
    }

    /// sse-bench with the simulator's first credential and S3 endpoint in the environment,
    /// where the SDK's standard chain finds them (s3:// results and histories).
    pub fn sse_bench(&self) -> std::process::Command {
        let mut c = sse_bench_command();
        c.env("AWS_ACCESS_KEY_ID", &self.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret_key)
            .env("AWS_ENDPOINT_URL_S3", &self.s3)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("GITHUB_STEP_SUMMARY");
        c
    }

    /// A KMS client for the simulator, as its first requester.
    pub fn kms_client(&self, rt: &tokio::runtime::Runtime) -> aws_sdk_kms::Client {
        let _g = rt.enter();
        sse_bench::targets::kms_client(&self.options(&self.kms))
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `sse-bench serve --listen 127.0.0.1:0` and reads the endpoints and first credential from its banner.
pub fn spawn_serve() -> ServeProcess {
    spawn_serve_with(&[])
}

/// `spawn_serve` with more arguments (e.g. `--requesters 2`).
pub fn spawn_serve_with(extra: &[&str]) -> ServeProcess {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sse-bench"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start sse-bench serve");
    let stdout = child.stdout.take().expect("stdout");
    let (mut s3, mut kms, mut admin) = (None, None, None);
    let mut all: Vec<(String, String)> = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("banner");
        let value = |l: &str| l.split_whitespace().nth(2).map(str::to_owned);
        if line.contains("S3 endpoint:") {
            s3 = value(&line);
        } else if line.contains("KMS endpoint:") {
            kms = value(&line);
        } else if line.contains("admin endpoint:") {
            admin = value(&line).map(|u| u.trim_end_matches("/stats").to_owned());
        } else if line.contains("AWS_ACCESS_KEY_ID=") {
            let kv: Vec<String> = line
                .split_whitespace()
                .filter_map(|p| p.split_once('=').map(|x| x.1.to_owned()))
                .collect();
            all.push((kv[0].clone(), kv[1].clone()));
        } else if line.starts_with("Press Ctrl-C") {
            break;
        }
    }
    let (access_key, secret_key) = all.first().cloned().expect("credentials in the banner");
    ServeProcess {
        child,
        s3: s3.expect("S3 endpoint in the banner"),
        kms: kms.expect("KMS endpoint in the banner"),
        admin: admin.expect("admin endpoint in the banner"),
        access_key,
        secret_key,
        creds: all,
    }
}

/// Symmetric cryptographic KMS calls the simulator behind `admin` has served so far.
#[allow(dead_code)]
pub fn kms_crypto_total(rt: &tokio::runtime::Runtime, admin: &str) -> u64 {
    let (status, body) = rt.block_on(http("GET", &format!("{admin}/stats")));
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    [
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "Decrypt",
        "Encrypt",
        "ReEncrypt",
    ]
    .iter()
    .map(|api| v["kms"]["by_api"][api].as_u64().unwrap_or(0))
    .sum()
}

/// Starts a multipart upload; returns its id.
pub async fn create_upload(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> String {
    s3.create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .upload_id
        .unwrap()
}

/// Completes a multipart upload with the parts given.
pub async fn complete(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    id: &str,
    parts: Vec<aws_sdk_s3::types::CompletedPart>,
) -> aws_sdk_s3::operation::complete_multipart_upload::CompleteMultipartUploadOutput {
    s3.complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(id)
        .multipart_upload(
            aws_sdk_s3::types::CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .unwrap()
}

/// What keeps `summary` from fitting the checked-in `results/schema.json` (empty: it fits).
pub fn schema_errors(summary: &serde_json::Value) -> Vec<String> {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/results/schema.json"))
            .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    validator
        .iter_errors(summary)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}
