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
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule, Tag, Tagging,
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
                Ok(Target {
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
                let tags = Tagging::builder()
                    .tag_set(Tag::builder().key("sse-bench:run").value(run_id).build()?)
                    .build()?;
                s3.put_bucket_tagging()
                    .bucket(&name)
                    .tagging(tags)
                    .send()
                    .await
                    .with_context(|| format!("tagging {name}"))?;
                self.buckets.insert((mode, role.clone()), name);
            }
        }
        Ok(())
    }

    /// The target's own KMS counters, where it has them (the embedded simulator).
    pub fn kms_counter(&self) -> Option<Arc<crate::sim::accounting::Accounting>> {
        self.sim.as_ref().map(|s| s.state().accounting.clone())
    }

    /// The KMS quota in force, when the target says.
    pub fn kms_quota(&self) -> Option<u64> {
        self.sim.as_ref().map(|s| s.state().kms.quota.limit())
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
