//! Targets: the embedded simulator or an S3-compatible endpoint, reached through
//! the same aws-sdk clients; provisioning of one bucket per (mode, bucket role).

pub mod clients;

pub use clients::{
    ClientOptions, RetryPolicy, StaticCredentials, cloudwatch_client, kms_client, s3_client,
};

use crate::scenario::{LoadedScenario, Mode, TargetKind};
use crate::sim::{Clock, SimConfig, Simulator};
use anyhow::Context as _;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging,
};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counts SDK attempts (first tries and retries).
#[derive(Debug, Clone, Default)]
pub struct AttemptCounter(pub Arc<AtomicU64>);

impl aws_sdk_s3::config::Intercept for AttemptCounter {
    fn name(&self) -> &'static str {
        "sse-bench attempt counter"
    }

    fn read_before_attempt(
        &self,
        _ctx: &aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _rc: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// Where a run goes, as chosen by `--target` or `[target]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetSpec {
    /// The in-process simulator.
    Embedded,
    /// An S3-compatible endpoint.
    Endpoint(String),
    /// Real AWS.
    Aws,
}

impl TargetSpec {
    /// Resolves `--target` against the scenario's `[target]`.
    pub fn resolve(flag: Option<&str>, ls: &LoadedScenario) -> Result<TargetSpec, String> {
        match flag {
            Some("embedded") => Ok(TargetSpec::Embedded),
            Some("aws") => Ok(TargetSpec::Aws),
            Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
                Ok(TargetSpec::Endpoint(u.to_owned()))
            }
            Some(other) => Err(format!(
                "--target: expected embedded, aws or an http(s):// URL, got {other:?}"
            )),
            None => match ls.scenario.target.kind {
                TargetKind::Embedded => Ok(TargetSpec::Embedded),
                TargetKind::Aws => Ok(TargetSpec::Aws),
                TargetKind::Endpoint => ls
                    .scenario
                    .target
                    .endpoint
                    .clone()
                    .map(TargetSpec::Endpoint)
                    .ok_or_else(|| {
                        "target.endpoint is required for kind = \"endpoint\"".to_owned()
                    }),
            },
        }
    }
}

/// A connected target with its buckets.
pub struct Target {
    /// What it is.
    pub spec: TargetSpec,
    /// Region used for signing and ARNs.
    pub region: String,
    /// The simulator, when embedded.
    pub sim: Option<Simulator>,
    /// Principal names, index-aligned with `clients`.
    pub principals: Vec<String>,
    /// One S3 client per principal.
    pub clients: Vec<aws_sdk_s3::Client>,
    /// KMS key ARN used by the KMS modes.
    pub kms_key_arn: Option<String>,
    /// Bucket name per (mode, bucket role).
    pub buckets: BTreeMap<(Mode, String), String>,
    /// SDK attempts across all clients.
    pub attempts: AttemptCounter,
    /// One KMS client per principal, where the target has a KMS endpoint.
    pub kms_clients: Vec<aws_sdk_kms::Client>,
    /// Admin endpoint of an `sse-bench serve` target (`http://host:port/_sim`): exact KMS counts.
    pub admin: Option<String>,
    /// The KMS quota the admin endpoint reports.
    pub admin_quota: Option<u64>,
}

/// The simulator configuration a scenario asks for.
pub fn sim_config(ls: &LoadedScenario, seed: u64, principals: usize) -> SimConfig {
    let mut c = ls.scenario.simulator.clone();
    if let Some(r) = &ls.scenario.target.region {
        c.region = r.clone();
    }
    c.seed = seed;
    c.requesters = principals.max(1) as u32;
    c
}

impl Target {
    /// Connects: starts the simulator (embedded) or builds endpoint clients.
    pub async fn connect(
        spec: TargetSpec,
        ls: &LoadedScenario,
        seed: u64,
        principals: Vec<String>,
    ) -> anyhow::Result<Target> {
        let t = &ls.scenario.target;
        let attempts = AttemptCounter::default();
        let kms_with_counter = |mut o: ClientOptions| {
            o.retry = t.retries;
            o.timeout = t.timeout.0;
            let c = kms_client(&o);
            let conf = c
                .config()
                .to_builder()
                .interceptor(attempts.clone())
                .build();
            aws_sdk_kms::Client::from_conf(conf)
        };
        let with_counter = |mut o: ClientOptions| {
            o.retry = t.retries;
            o.timeout = t.timeout.0;
            let c = s3_client(&o);
            let conf = c
                .config()
                .to_builder()
                .interceptor(attempts.clone())
                .build();
            aws_sdk_s3::Client::from_conf(conf)
        };
        match &spec {
            TargetSpec::Embedded => {
                let config = sim_config(ls, seed, principals.len());
                let lo = SocketAddr::from(([127, 0, 0, 1], 0));
                let sim = Simulator::start_on(config, Clock::real(), lo, lo)
                    .await
                    .context("starting the embedded simulator")?;
                let region = sim.config().region.clone();
                let creds = sim.credentials();
                let clients = (0..principals.len())
                    .map(|i| {
                        with_counter(ClientOptions::endpoint(
                            &sim.s3_endpoint(),
                            &region,
                            StaticCredentials::from(&creds[i]),
                        ))
                    })
                    .collect();
                let kms = kms_client(&ClientOptions::endpoint(
                    &sim.kms_endpoint(),
                    &region,
                    StaticCredentials::from(&creds[0]),
                ));
                let key = kms
                    .create_key()
                    .description("sse-bench run key")
                    .send()
                    .await
                    .context("creating the KMS key")?;
                let meta = key.key_metadata.context("CreateKey returned no metadata")?;
                kms.create_alias()
                    .alias_name(&t.kms_key)
                    .target_key_id(meta.key_id())
                    .send()
                    .await
                    .context("creating the key alias")?;
                let kms_clients = (0..principals.len())
                    .map(|i| {
                        kms_with_counter(ClientOptions::endpoint(
                            &sim.kms_endpoint(),
                            &region,
                            StaticCredentials::from(&creds[i]),
                        ))
                    })
                    .collect();
                sim.reset_stats();
                Ok(Target {
                    admin: None,
                    admin_quota: None,
                    kms_clients,
                    spec,
                    region,
                    sim: Some(sim),
                    principals,
                    clients,
                    kms_key_arn: meta.arn,
                    buckets: BTreeMap::new(),
                    attempts,
                })
            }
            TargetSpec::Endpoint(url) => {
                let region = t.region.clone().unwrap_or_else(|| "us-east-1".into());
                let creds = match StaticCredentials::from_env() {
                    Some(c) => c,
                    None => anyhow::bail!(
                        "endpoint target {url}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the endpoint"
                    ),
                };
                let clients = principals
                    .iter()
                    .map(|_| with_counter(ClientOptions::endpoint(url, &region, creds.clone())))
                    .collect();
                // With a KMS endpoint (e.g. `sse-bench serve`), make sure the key exists there.
                let (kms_key_arn, kms_clients) = match &t.kms_endpoint {
                    Some(kms_url) => {
                        let kms =
                            kms_client(&ClientOptions::endpoint(kms_url, &region, creds.clone()));
                        let clients = principals
                            .iter()
                            .map(|_| {
                                kms_with_counter(ClientOptions::endpoint(
                                    kms_url,
                                    &region,
                                    creds.clone(),
                                ))
                            })
                            .collect();
                        (Some(ensure_key(&kms, &t.kms_key).await?), clients)
                    }
                    None => (Some(t.kms_key.clone()), Vec::new()),
                };
                let admin = t.admin_endpoint.as_deref().map(admin_base);
                let admin_quota = match &admin {
                    Some(a) => {
                        let config = http_get(&format!("{a}/config"))
                            .await
                            .with_context(|| format!("reading the admin endpoint {a}"))?;
                        serde_json::from_str::<serde_json::Value>(&config)
                            .ok()
                            .and_then(|v| v["kms_quota_rps"].as_u64())
                    }
                    None => None,
                };
                Ok(Target {
                    admin,
                    admin_quota,
                    kms_clients,
                    spec,
                    region,
                    sim: None,
                    principals,
                    clients,
                    kms_key_arn,
                    buckets: BTreeMap::new(),
                    attempts,
                })
            }
            TargetSpec::Aws => anyhow::bail!(
                "the aws target is not available in this build yet: use the embedded simulator or an endpoint URL"
            ),
        }
    }

    /// Creates and configures one bucket per (mode, role), tagged with the run id.
    pub async fn provision(
        &mut self,
        modes: &[Mode],
        roles: &[String],
        prefix: &str,
        run_id: &str,
    ) -> anyhow::Result<()> {
        let s3 = self.clients.first().context("no client")?.clone();
        for &mode in modes {
            for role in roles {
                let name = bucket_name(prefix, run_id, mode, role);
                s3.create_bucket()
                    .bucket(&name)
                    .send()
                    .await
                    .with_context(|| format!("creating bucket {name}"))?;
                // Tagged first and recorded at once, so cleanup finds it whatever fails next.
                let tags = Tagging::builder()
                    .tag_set(Tag::builder().key(RUN_TAG).value(run_id).build()?)
                    .build()?;
                s3.put_bucket_tagging()
                    .bucket(&name)
                    .tagging(tags)
                    .send()
                    .await
                    .with_context(|| format!("tagging {name}"))?;
                self.buckets.insert((mode, role.clone()), name.clone());
                let mut by_default = ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(ServerSideEncryption::from(mode.algorithm()));
                if mode.uses_kms() {
                    by_default = by_default.set_kms_master_key_id(self.kms_key_arn.clone());
                }
                let rule = ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(by_default.build()?)
                    .bucket_key_enabled(mode.bucket_key())
                    .build();
                s3.put_bucket_encryption()
                    .bucket(&name)
                    .server_side_encryption_configuration(
                        ServerSideEncryptionConfiguration::builder()
                            .rules(rule)
                            .build()?,
                    )
                    .send()
                    .await
                    .with_context(|| format!("setting default encryption of {name}"))?;
                // A safety net for whatever cleanup misses: objects expire after a day.
                let rule = LifecycleRule::builder()
                    .id("sse-bench-expire")
                    .status(ExpirationStatus::Enabled)
                    .filter(LifecycleRuleFilter::builder().prefix("").build())
                    .expiration(LifecycleExpiration::builder().days(1).build())
                    .build()?;
                if let Err(e) = s3
                    .put_bucket_lifecycle_configuration()
                    .bucket(&name)
                    .lifecycle_configuration(
                        BucketLifecycleConfiguration::builder()
                            .rules(rule)
                            .build()?,
                    )
                    .send()
                    .await
                {
                    tracing::warn!(
                        "{name}: no expiry lifecycle rule (the endpoint refused it): {}",
                        aws_sdk_s3::error::DisplayErrorContext(e)
                    );
                }
            }
        }
        Ok(())
    }

    /// A target around existing S3 clients (no simulator, no KMS endpoint, no
    /// buckets yet): what cleanup needs, for tools and tests.
    pub fn for_clients(clients: Vec<aws_sdk_s3::Client>) -> Target {
        Target {
            spec: TargetSpec::Endpoint(String::new()),
            region: "us-east-1".into(),
            sim: None,
            principals: vec!["main".into(); clients.len()],
            clients,
            kms_key_arn: None,
            buckets: BTreeMap::new(),
            attempts: AttemptCounter::default(),
            kms_clients: Vec::new(),
            admin: None,
            admin_quota: None,
        }
    }

    /// The target's own KMS counters, where it has them (the embedded simulator).
    pub fn kms_counter(&self) -> Option<Arc<crate::sim::accounting::Accounting>> {
        self.sim.as_ref().map(|s| s.state().accounting.clone())
    }

    /// The KMS quota in force, when the target says.
    pub fn kms_quota(&self) -> Option<u64> {
        self.sim
            .as_ref()
            .map(|s| s.state().kms.quota.limit())
            .or(self.admin_quota)
    }

    /// Whether the target counts KMS calls (the simulator, in-process or via its admin endpoint).
    pub fn kms_measured(&self) -> bool {
        self.sim.is_some() || self.admin.is_some()
    }

    /// The target's cumulative KMS counts, when it has them.
    pub async fn kms_snapshot(&self) -> Option<crate::sim::KmsStats> {
        if let Some(sim) = &self.sim {
            return Some(sim.state().accounting.snapshot().kms);
        }
        let admin = self.admin.as_ref()?;
        match http_get(&format!("{admin}/stats")).await {
            Ok(body) => match serde_json::from_str::<crate::sim::accounting::SimStats>(&body) {
                Ok(s) => Some(s.kms),
                Err(e) => {
                    tracing::warn!("admin endpoint {admin}: unreadable stats: {e}");
                    None
                }
            },
            Err(e) => {
                tracing::warn!("admin endpoint {admin}: {e:#}");
                None
            }
        }
    }

    /// Deletes what the run created (objects, then buckets), checking each bucket's
    /// `sse-bench:run` tag first: a bucket without this run's tag is never touched.
    /// Returns the buckets left behind, with why.
    pub async fn cleanup(&self, run_id: &str) -> Vec<(String, String)> {
        let mut left = Vec::new();
        let Some(s3) = self.clients.first() else {
            return left;
        };
        for name in self
            .buckets
            .values()
            .collect::<std::collections::BTreeSet<_>>()
        {
            if let Err(why) = delete_run_bucket(s3, name, run_id).await {
                left.push((name.clone(), why));
            }
        }
        left
    }

    /// A description for summaries.
    pub fn label(&self) -> String {
        match &self.spec {
            TargetSpec::Embedded => "embedded".into(),
            TargetSpec::Endpoint(u) => u.clone(),
            TargetSpec::Aws => "aws".into(),
        }
    }
}

/// Deletes one bucket the run created, if its tag says so.
async fn delete_run_bucket(
    s3: &aws_sdk_s3::Client,
    name: &str,
    run_id: &str,
) -> Result<(), String> {
    let tags = s3
        .get_bucket_tagging()
        .bucket(name)
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot read its tags: {}",
                aws_sdk_s3::error::DisplayErrorContext(e)
            )
        })?;
    let ours = tags
        .tag_set()
        .iter()
        .any(|t| t.key() == RUN_TAG && t.value() == run_id);
    if !ours {
        return Err(format!(
            "not tagged {RUN_TAG}={run_id}: not this run's bucket, left alone"
        ));
    }
    let mut token: Option<String> = None;
    // Bounded: a run writes at most its key space per stream.
    for _ in 0..100_000 {
        let page = s3
            .list_objects_v2()
            .bucket(name)
            .set_continuation_token(token.take())
            .send()
            .await
            .map_err(|e| {
                format!(
                    "listing objects: {}",
                    aws_sdk_s3::error::DisplayErrorContext(e)
                )
            })?;
        let ids: Vec<aws_sdk_s3::types::ObjectIdentifier> = page
            .contents()
            .iter()
            .filter_map(|o| o.key())
            .filter_map(|k| {
                aws_sdk_s3::types::ObjectIdentifier::builder()
                    .key(k)
                    .build()
                    .ok()
            })
            .collect();
        if !ids.is_empty() {
            let delete = aws_sdk_s3::types::Delete::builder()
                .set_objects(Some(ids))
                .quiet(true)
                .build()
                .map_err(|e| e.to_string())?;
            s3.delete_objects()
                .bucket(name)
                .delete(delete)
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "deleting objects: {}",
                        aws_sdk_s3::error::DisplayErrorContext(e)
                    )
                })?;
        }
        token = page.next_continuation_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    s3.delete_bucket().bucket(name).send().await.map_err(|e| {
        format!(
            "deleting the bucket: {}",
            aws_sdk_s3::error::DisplayErrorContext(e)
        )
    })?;
    Ok(())
}

/// The tag every bucket a run creates carries.
pub const RUN_TAG: &str = "sse-bench:run";

/// `http://host:port`, `.../_sim` or `.../_sim/stats` → `http://host:port/_sim`.
fn admin_base(url: &str) -> String {
    let u = url.trim_end_matches('/');
    let u = u.strip_suffix("/stats").unwrap_or(u);
    if u.ends_with("/_sim") {
        u.to_owned()
    } else {
        format!("{u}/_sim")
    }
}

/// A plain HTTP/1.1 GET (the admin endpoint is loopback HTTP); the body of a 200.
pub async fn http_get(url: &str) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url
        .strip_prefix("http://")
        .context("the admin endpoint must be an http:// URL")?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut s = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tokio::net::TcpStream::connect(host),
    )
    .await
    .context("connecting timed out")??;
    let req = format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await?;
    let mut buf = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(30), s.read_to_end(&mut buf))
        .await
        .context("reading timed out")??;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .context("malformed HTTP response")?;
    let status = head.split_whitespace().nth(1).unwrap_or("");
    anyhow::ensure!(status == "200", "GET {url}: HTTP {status}");
    Ok(body.to_owned())
}

/// The ARN of `alias`, creating a key under it when the alias does not exist yet.
async fn ensure_key(kms: &aws_sdk_kms::Client, alias: &str) -> anyhow::Result<String> {
    if let Ok(d) = kms.describe_key().key_id(alias).send().await
        && let Some(arn) = d.key_metadata.and_then(|m| m.arn)
    {
        return Ok(arn);
    }
    let meta = kms
        .create_key()
        .description("sse-bench run key")
        .send()
        .await
        .context("creating the KMS key")?
        .key_metadata
        .context("CreateKey returned no metadata")?;
    kms.create_alias()
        .alias_name(alias)
        .target_key_id(meta.key_id())
        .send()
        .await
        .context("creating the key alias")?;
    meta.arn.context("CreateKey returned no ARN")
}

/// A valid S3 bucket name from its parts (lower case, at most 63 characters).
pub fn bucket_name(prefix: &str, run_id: &str, mode: Mode, role: &str) -> String {
    let clean = |s: &str| {
        s.to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect::<String>()
    };
    let mut name = format!(
        "{}-{}-{}-{}",
        clean(prefix),
        clean(run_id),
        clean(mode.as_str()),
        clean(role)
    );
    name.truncate(63);
    name.trim_end_matches('-').to_owned()
}
