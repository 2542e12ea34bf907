//! Targets: the embedded simulator, an S3-compatible endpoint or real AWS, reached
//! through the same aws-sdk clients; provisioning of one bucket per (mode, bucket role)
//! or reuse of existing buckets under a run prefix; capability probe; guarded cleanup.

pub mod aws;
pub mod capabilities;
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

/// How to reach and use a real target, from the command line (`run`'s flags).
#[derive(Clone, Debug, Default)]
pub struct Access {
    /// `--profile`: the shared-config profile of the default credentials.
    pub profile: Option<String>,
    /// `--region` (over `[target] region` and the chain's region).
    pub region: Option<String>,
    /// `--kms-key ALIAS|ARN` (over `[target] kms_key`).
    pub kms_key: Option<String>,
    /// `--create-key`: create a key tagged for the run, schedule its deletion at the end.
    pub create_key: bool,
    /// `--bucket [ROLE=]NAME`: existing buckets to use under a run prefix (no role: every role).
    pub reuse: Vec<(Option<String>, String)>,
    /// `--key-prefix`: the prefix in reused buckets (default `sse-bench-<run id>/`).
    pub key_prefix: Option<String>,
}

impl Access {
    /// Parses `--bucket` values: `NAME` (every bucket role) or `ROLE=NAME`.
    pub fn parse_buckets(values: &[String]) -> Result<Vec<(Option<String>, String)>, String> {
        values
            .iter()
            .map(|v| {
                let (role, name) = match v.split_once('=') {
                    Some((r, n)) => (Some(r.trim().to_owned()), n.trim()),
                    None => (None, v.trim()),
                };
                let ok = (3..=63).contains(&name.len())
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-".contains(c));
                if ok {
                    Ok((role, name.to_owned()))
                } else {
                    Err(format!(
                        "--bucket: expected NAME or ROLE=NAME with a valid bucket name (3-63 of a-z 0-9 . -), got {v:?}"
                    ))
                }
            })
            .collect()
    }
}

impl Access {
    /// Refuses a `--bucket ROLE=NAME` whose role the scenario does not have.
    pub fn check_roles(&self, roles: &[String]) -> Result<(), String> {
        for (role, _) in &self.reuse {
            if let Some(r) = role
                && !roles.contains(r)
            {
                return Err(format!(
                    "--bucket {r}=...: the scenario has no bucket role {r:?} (its roles: {})",
                    roles.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// The reused bucket of a bucket role: its own `--bucket ROLE=NAME`, else `--bucket NAME`.
    pub fn bucket_for(&self, role: &str) -> Option<&str> {
        self.reuse
            .iter()
            .find(|(r, _)| r.as_deref() == Some(role))
            .or_else(|| self.reuse.iter().find(|(r, _)| r.is_none()))
            .map(|(_, n)| n.as_str())
    }
}

/// The KMS key a run created with `--create-key`, and what became of it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CreatedKey {
    /// Key ARN.
    pub arn: String,
    /// "scheduled for deletion on <date>", "kept (--keep)" or why scheduling failed.
    pub fate: String,
}

/// The window of a scheduled key deletion: 7 days, the minimum KMS allows.
pub const KEY_DELETION_DAYS: i32 = 7;

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
    /// Buckets this run created (the only ones cleanup may delete).
    pub created: std::collections::BTreeSet<String>,
    /// The prefix of every key in reused buckets (`--bucket`); empty for created buckets.
    pub key_prefix: String,
    /// The KMS key this run created (`--create-key`).
    pub created_key: Option<String>,
    /// Shared configuration of the aws target (CloudWatch clients are built from it).
    pub sdk_config: Option<aws_config::SdkConfig>,
    /// KMS client that created the key (scheduling its deletion).
    key_admin: Option<aws_sdk_kms::Client>,
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
    /// Connects: starts the simulator (embedded), or builds endpoint or AWS clients,
    /// one per principal, and settles the KMS key.
    pub async fn connect(
        spec: TargetSpec,
        ls: &LoadedScenario,
        seed: u64,
        principals: Vec<String>,
        access: &Access,
        run_id: &str,
    ) -> anyhow::Result<Target> {
        let t = &ls.scenario.target;
        let attempts = AttemptCounter::default();
        let count_kms = |c: aws_sdk_kms::Client| {
            let conf = c
                .config()
                .to_builder()
                .interceptor(attempts.clone())
                .build();
            aws_sdk_kms::Client::from_conf(conf)
        };
        let count_s3 = |c: aws_sdk_s3::Client| {
            let conf = c
                .config()
                .to_builder()
                .interceptor(attempts.clone())
                .build();
            aws_sdk_s3::Client::from_conf(conf)
        };
        let opts = |url: &str, region: &str, creds: StaticCredentials| ClientOptions {
            retry: t.retries,
            timeout: t.timeout.0,
            ..ClientOptions::endpoint(url, region, creds)
        };
        let needs_key = ls.scenario.kind == crate::scenario::ScenarioKind::Kms
            || ls.scenario.modes.iter().any(|m| m.uses_kms());
        let key_ref = access.kms_key.clone().unwrap_or_else(|| t.kms_key.clone());
        let mut target = Target::bare(spec.clone(), principals.clone(), Vec::new());
        target.attempts = attempts.clone();
        match &spec {
            TargetSpec::Embedded => {
                let config = sim_config(ls, seed, principals.len());
                let lo = SocketAddr::from(([127, 0, 0, 1], 0));
                let sim = Simulator::start_on(config, Clock::real(), lo, lo)
                    .await
                    .context("starting the embedded simulator")?;
                let region = sim.config().region.clone();
                let creds = sim.credentials();
                target.clients = (0..principals.len())
                    .map(|i| {
                        count_s3(s3_client(&opts(
                            &sim.s3_endpoint(),
                            &region,
                            StaticCredentials::from(&creds[i]),
                        )))
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
                target.kms_clients = (0..principals.len())
                    .map(|i| {
                        count_kms(kms_client(&opts(
                            &sim.kms_endpoint(),
                            &region,
                            StaticCredentials::from(&creds[i]),
                        )))
                    })
                    .collect();
                sim.reset_stats();
                target.region = region;
                target.kms_key_arn = meta.arn;
                target.sim = Some(sim);
            }
            TargetSpec::Endpoint(url) => {
                let region = access
                    .region
                    .clone()
                    .or_else(|| t.region.clone())
                    .unwrap_or_else(|| "us-east-1".into());
                let env_creds = StaticCredentials::from_env();
                // A principal mapped to a profile signs with that profile's keys; the rest
                // with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
                let mut configs = Vec::new();
                for name in &principals {
                    match t.principals.get(name) {
                        Some(src) => {
                            let base = aws::load(access.profile.as_deref(), Some(&region)).await;
                            let cfg = aws::principal_config(&base, &region, name, src, run_id)
                                .await
                                .to_builder()
                                .endpoint_url(url)
                                .build();
                            aws::check_credentials(&cfg, &format!("principal {name}")).await?;
                            configs.push(Some(cfg));
                        }
                        None if env_creds.is_some() => configs.push(None),
                        None => anyhow::bail!(
                            "endpoint target {url}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the endpoint (or map principal {name} in [target.principals])"
                        ),
                    }
                }
                let s3_for =
                    |cfg: &Option<aws_config::SdkConfig>, url: &str| match (cfg, &env_creds) {
                        (Some(cfg), _) => aws::s3_client(cfg, t.retries, t.timeout.0, true),
                        (None, Some(c)) => s3_client(&opts(url, &region, c.clone())),
                        (None, None) => unreachable!("checked above"),
                    };
                target.clients = configs.iter().map(|c| count_s3(s3_for(c, url))).collect();
                // Read before any key is made, so a bad admin URL leaves nothing behind.
                target.admin = t.admin_endpoint.as_deref().map(admin_base);
                if let Some(a) = &target.admin {
                    let config = http_get(&format!("{a}/config"))
                        .await
                        .with_context(|| format!("reading the admin endpoint {a}"))?;
                    target.admin_quota = serde_json::from_str::<serde_json::Value>(&config)
                        .ok()
                        .and_then(|v| v["kms_quota_rps"].as_u64());
                }
                // With a KMS endpoint (e.g. `sse-bench serve`), the key lives there.
                if let Some(kms_url) = &t.kms_endpoint {
                    let kms_for = |cfg: &Option<aws_config::SdkConfig>| match (cfg, &env_creds) {
                        (Some(cfg), _) => aws::kms_client(
                            &cfg.to_builder().endpoint_url(kms_url).build(),
                            t.retries,
                            t.timeout.0,
                        ),
                        (None, Some(c)) => kms_client(&opts(kms_url, &region, c.clone())),
                        (None, None) => unreachable!("checked above"),
                    };
                    target.kms_clients = configs.iter().map(|c| count_kms(kms_for(c))).collect();
                    let admin = configs.first().map(kms_for).context("no principal")?;
                    if needs_key {
                        target.kms_key_arn = Some(if access.create_key {
                            let arn = create_run_key(&admin, run_id).await?;
                            target.created_key = Some(arn.clone());
                            arn
                        } else {
                            ensure_key(&admin, &key_ref).await?
                        });
                    }
                    target.key_admin = Some(admin);
                } else {
                    anyhow::ensure!(
                        !access.create_key,
                        "--create-key needs a KMS endpoint: set [target] kms_endpoint"
                    );
                    target.kms_key_arn = needs_key.then(|| key_ref.clone());
                }
                target.region = region;
            }
            TargetSpec::Aws => {
                let region = access.region.as_deref().or(t.region.as_deref());
                let base = aws::load(access.profile.as_deref(), region).await;
                let region = base
                    .region()
                    .map(|r| r.to_string())
                    .context("no AWS region: set [target] region, --region, AWS_REGION or a region in the profile")?;
                let path_style = aws::custom_s3_endpoint(&base);
                for name in &principals {
                    let cfg = match t.principals.get(name) {
                        Some(src) => aws::principal_config(&base, &region, name, src, run_id).await,
                        None => base.clone(),
                    };
                    aws::check_credentials(&cfg, &format!("principal {name}")).await?;
                    target.clients.push(count_s3(aws::s3_client(
                        &cfg,
                        t.retries,
                        t.timeout.0,
                        path_style,
                    )));
                    target.kms_clients.push(count_kms(aws::kms_client(
                        &cfg,
                        t.retries,
                        t.timeout.0,
                    )));
                }
                let admin = aws::kms_client(&base, RetryPolicy::Standard, t.timeout.0);
                if needs_key {
                    target.kms_key_arn = Some(if access.create_key {
                        let arn = create_run_key(&admin, run_id).await?;
                        target.created_key = Some(arn.clone());
                        arn
                    } else {
                        existing_key(&admin, &key_ref, &region).await?
                    });
                }
                target.key_admin = Some(admin);
                target.region = region;
                target.sdk_config = Some(base);
            }
        }
        if let Some(arn) = &target.created_key {
            eprintln!(
                "CREATED KMS KEY {arn} (tagged {RUN_TAG}={run_id}): its deletion is scheduled at the end of the run ({KEY_DELETION_DAYS}-day window, the minimum)"
            );
        }
        Ok(target)
    }

    /// Makes the buckets ready: creates and configures one bucket per (mode, role), tagged
    /// with the run id, or, with `--bucket`, checks the existing buckets and the run prefix.
    /// Returns the modes the target refused to configure, with its answer.
    pub async fn provision(
        &mut self,
        modes: &[Mode],
        roles: &[String],
        prefix: &str,
        run_id: &str,
        access: &Access,
    ) -> anyhow::Result<BTreeMap<Mode, String>> {
        if !access.reuse.is_empty() {
            self.reuse(modes, roles, run_id, access).await?;
            return Ok(BTreeMap::new());
        }
        let mut refused = BTreeMap::new();
        let s3 = self.clients.first().context("no client")?.clone();
        for &mode in modes {
            for role in roles {
                let name = bucket_name(prefix, run_id, mode, role);
                let mut create = s3.create_bucket().bucket(&name);
                // Outside us-east-1, AWS wants the region in the request body.
                if self.spec == TargetSpec::Aws && self.region != "us-east-1" {
                    create = create.create_bucket_configuration(
                        aws_sdk_s3::types::CreateBucketConfiguration::builder()
                            .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                                self.region.as_str(),
                            ))
                            .build(),
                    );
                }
                create
                    .send()
                    .await
                    .map_err(|e| anyhow::anyhow!(aws_sdk_s3::error::DisplayErrorContext(e)))
                    .with_context(|| format!("creating bucket {name}"))?;
                // Recorded at once and tagged first, so cleanup finds it whatever fails next.
                self.created.insert(name.clone());
                self.buckets.insert((mode, role.clone()), name.clone());
                let tags = Tagging::builder()
                    .tag_set(Tag::builder().key(RUN_TAG).value(run_id).build()?)
                    .build()?;
                s3.put_bucket_tagging()
                    .bucket(&name)
                    .tagging(tags)
                    .send()
                    .await
                    .map_err(|e| anyhow::anyhow!(aws_sdk_s3::error::DisplayErrorContext(e)))
                    .with_context(|| format!("tagging {name}"))?;
                let mut by_default = ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(ServerSideEncryption::from(mode.algorithm()));
                if mode.uses_kms() {
                    by_default = by_default.set_kms_master_key_id(self.kms_key_arn.clone());
                }
                let rule = ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(by_default.build()?)
                    .bucket_key_enabled(mode.bucket_key())
                    .build();
                // A target that cannot configure a mode (no KMS, no DSSE) loses that mode, not the run.
                if let Err(e) = s3
                    .put_bucket_encryption()
                    .bucket(&name)
                    .server_side_encryption_configuration(
                        ServerSideEncryptionConfiguration::builder()
                            .rules(rule)
                            .build()?,
                    )
                    .send()
                    .await
                {
                    refused.entry(mode).or_insert_with(|| {
                        format!(
                            "the target refused the bucket's default encryption: {}",
                            aws_sdk_s3::error::DisplayErrorContext(e)
                        )
                    });
                }
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
        Ok(refused)
    }

    /// `--bucket`: existing buckets, used under a run prefix they must not have objects under.
    /// Their configuration is never changed; writes carry the mode's encryption headers.
    async fn reuse(
        &mut self,
        modes: &[Mode],
        roles: &[String],
        run_id: &str,
        access: &Access,
    ) -> anyhow::Result<()> {
        access.check_roles(roles).map_err(anyhow::Error::msg)?;
        let prefix = match &access.key_prefix {
            Some(p) => {
                let p = p.trim_start_matches('/');
                anyhow::ensure!(
                    !p.is_empty(),
                    "--key-prefix must not be empty: the run deletes what is under it"
                );
                if p.ends_with('/') {
                    p.to_owned()
                } else {
                    format!("{p}/")
                }
            }
            None => format!("sse-bench-{run_id}/"),
        };
        let s3 = self.clients.first().context("no client")?.clone();
        for role in roles {
            let name = access
                .bucket_for(role)
                .map(str::to_owned)
                .with_context(|| {
                    format!("no --bucket for the bucket role {role:?} (give --bucket NAME or --bucket {role}=NAME)")
                })?;
            for &mode in modes {
                self.buckets.insert((mode, role.clone()), name.clone());
            }
        }
        for name in &self.bucket_names() {
            s3.head_bucket()
                .bucket(name)
                .send()
                .await
                .map_err(|e| anyhow::anyhow!(aws_sdk_s3::error::DisplayErrorContext(e)))
                .with_context(|| format!("--bucket {name}: not reachable"))?;
            let page = s3
                .list_objects_v2()
                .bucket(name)
                .prefix(&prefix)
                .max_keys(1)
                .send()
                .await
                .map_err(|e| anyhow::anyhow!(aws_sdk_s3::error::DisplayErrorContext(e)))
                .with_context(|| format!("--bucket {name}: listing {prefix}"))?;
            anyhow::ensure!(
                page.contents().is_empty(),
                "--bucket {name} already has objects under {prefix}: refusing to write (and later delete) there; choose another --key-prefix"
            );
        }
        self.key_prefix = prefix;
        Ok(())
    }

    /// The encryption headers writes carry in `mode`: none on buckets the run configured
    /// (their default encryption applies), the mode's own on reused buckets.
    pub fn sse_for(&self, mode: Mode) -> Option<crate::driver::ops::Sse> {
        if self.key_prefix.is_empty() {
            return None;
        }
        Some(crate::driver::ops::Sse {
            algorithm: mode.algorithm().to_owned(),
            kms_key_id: if mode.uses_kms() {
                self.kms_key_arn.clone()
            } else {
                None
            },
            bucket_key: matches!(mode, Mode::SseKms | Mode::SseKmsBucketKey)
                .then(|| mode.bucket_key()),
        })
    }

    /// Probes what the target honours: one small PUT per mode (skipped on the simulator,
    /// in-process or behind an admin endpoint, which honours every mode). Returns the
    /// modes to skip, with why.
    pub async fn probe(&self, modes: &[Mode], roles: &[String]) -> BTreeMap<Mode, String> {
        let mut skip = BTreeMap::new();
        if self.sim.is_some() || self.admin.is_some() {
            return skip;
        }
        let (Some(s3), Some(role)) = (self.clients.first(), roles.first()) else {
            return skip;
        };
        for &mode in modes {
            let Some(bucket) = self.buckets.get(&(mode, role.clone())) else {
                continue;
            };
            let key = format!("{}_sse-bench-probe/{mode}", self.key_prefix);
            let sse = self.sse_for(mode);
            let verdict = capabilities::probe(s3, bucket, &key, sse.as_ref())
                .await
                .and_then(|a| capabilities::judge(mode, &a));
            if let Err(why) = verdict {
                skip.insert(mode, why);
            }
        }
        skip
    }

    /// A target around existing S3 clients (no simulator, no KMS endpoint, no
    /// buckets yet): what cleanup needs, for tools and tests.
    pub fn for_clients(clients: Vec<aws_sdk_s3::Client>) -> Target {
        let mut t = Target::bare(
            TargetSpec::Endpoint(String::new()),
            vec!["main".into(); clients.len()],
            clients,
        );
        t.region = "us-east-1".into();
        t
    }

    /// A target with clients and nothing else yet: no simulator, key, buckets or admin.
    fn bare(spec: TargetSpec, principals: Vec<String>, clients: Vec<aws_sdk_s3::Client>) -> Target {
        Target {
            spec,
            region: String::new(),
            sim: None,
            principals,
            clients,
            kms_key_arn: None,
            buckets: BTreeMap::new(),
            attempts: AttemptCounter::default(),
            kms_clients: Vec::new(),
            admin: None,
            admin_quota: None,
            created: Default::default(),
            key_prefix: String::new(),
            created_key: None,
            sdk_config: None,
            key_admin: None,
        }
    }

    /// The distinct buckets the run uses (created or reused), sorted.
    pub fn bucket_names(&self) -> Vec<String> {
        self.buckets
            .values()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
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

    /// Deletes what the run created: its buckets (objects first), each only after checking
    /// its `sse-bench:run` tag, so a bucket without this run's tag is never touched; in
    /// reused buckets, only the objects under the run prefix. Returns what is left behind,
    /// with why and the command that removes it.
    pub async fn cleanup(&self, run_id: &str) -> Vec<LeftBehind> {
        let mut left = Vec::new();
        let Some(s3) = self.clients.first() else {
            return left;
        };
        for name in &self.created {
            if let Err(why) = delete_run_bucket(s3, name, run_id).await {
                left.push(LeftBehind {
                    what: format!("bucket {name}"),
                    why,
                    remove: format!("aws s3 rb s3://{name} --force"),
                });
            }
        }
        if !self.key_prefix.is_empty() {
            for name in &self.bucket_names() {
                if let Err(why) = delete_under(s3, name, &self.key_prefix).await {
                    left.push(LeftBehind {
                        what: format!("objects in s3://{name}/{}", self.key_prefix),
                        why,
                        remove: format!("aws s3 rm s3://{name}/{} --recursive", self.key_prefix),
                    });
                }
            }
        }
        left
    }

    /// Schedules the deletion of the key `--create-key` made (unless `keep`: objects kept
    /// with `--keep` stay readable), and says so loudly.
    pub async fn retire_key(&self, keep: bool) -> Option<CreatedKey> {
        let arn = self.created_key.clone()?;
        let fate = if keep {
            format!(
                "kept (--keep): schedule its deletion with: aws kms schedule-key-deletion --key-id {arn} --pending-window-in-days {KEY_DELETION_DAYS}"
            )
        } else {
            match &self.key_admin {
                Some(kms) => match kms
                    .schedule_key_deletion()
                    .key_id(&arn)
                    .pending_window_in_days(KEY_DELETION_DAYS)
                    .send()
                    .await
                {
                    Ok(out) => format!(
                        "scheduled for deletion on {}",
                        out.deletion_date()
                            .and_then(|d| d.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
                            .unwrap_or_else(|| format!("in {KEY_DELETION_DAYS} days"))
                    ),
                    Err(e) => format!(
                        "NOT scheduled for deletion ({}): run aws kms schedule-key-deletion --key-id {arn} --pending-window-in-days {KEY_DELETION_DAYS}",
                        aws_sdk_kms::error::DisplayErrorContext(e)
                    ),
                },
                None => "NOT scheduled for deletion (no KMS client)".into(),
            }
        };
        eprintln!("KMS KEY {arn} created by this run: {fate}");
        Some(CreatedKey { arn, fate })
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

/// Something a run created and did not remove.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeftBehind {
    /// "bucket NAME" or "objects in s3://NAME/PREFIX".
    pub what: String,
    /// Why it is still there.
    pub why: String,
    /// The command that removes it.
    pub remove: String,
}

/// Deletes the objects under `prefix` (never anything else: every key is checked).
async fn delete_under(s3: &aws_sdk_s3::Client, name: &str, prefix: &str) -> Result<(), String> {
    if prefix.is_empty() {
        return Err("no run prefix: nothing deleted".into());
    }
    delete_objects(s3, name, Some(prefix)).await
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
    delete_objects(s3, name, None).await?;
    s3.delete_bucket().bucket(name).send().await.map_err(|e| {
        format!(
            "deleting the bucket: {}",
            aws_sdk_s3::error::DisplayErrorContext(e)
        )
    })?;
    Ok(())
}

/// Deletes every object of a bucket, or those under `prefix`.
async fn delete_objects(
    s3: &aws_sdk_s3::Client,
    name: &str,
    prefix: Option<&str>,
) -> Result<(), String> {
    let mut token: Option<String> = None;
    // Bounded: a run writes at most its key space per stream.
    for _ in 0..100_000 {
        let page = s3
            .list_objects_v2()
            .bucket(name)
            .set_prefix(prefix.map(str::to_owned))
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
            .filter(|k| prefix.is_none_or(|p| k.starts_with(p)))
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
    match kms
        .create_alias()
        .alias_name(alias)
        .target_key_id(meta.key_id())
        .send()
        .await
    {
        Ok(_) => meta.arn.context("CreateKey returned no ARN"),
        // Another worker (a shard started at the same moment) made the alias first: use its key.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_already_exists_exception()) =>
        {
            kms.describe_key()
                .key_id(alias)
                .send()
                .await
                .context("reading the key alias another worker created")?
                .key_metadata
                .and_then(|m| m.arn)
                .context("DescribeKey returned no ARN")
        }
        Err(e) => Err(anyhow::anyhow!(aws_sdk_kms::error::DisplayErrorContext(e)))
            .context("creating the key alias"),
    }
}

/// `--create-key`: a symmetric key tagged with the run id.
async fn create_run_key(kms: &aws_sdk_kms::Client, run_id: &str) -> anyhow::Result<String> {
    let meta = kms
        .create_key()
        .description(format!(
            "sse-bench run {run_id}: created for one benchmark run, deletion scheduled at its end"
        ))
        .tags(
            aws_sdk_kms::types::Tag::builder()
                .tag_key(RUN_TAG)
                .tag_value(run_id)
                .build()?,
        )
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(aws_sdk_kms::error::DisplayErrorContext(e)))
        .context("--create-key: creating the KMS key")?
        .key_metadata
        .context("CreateKey returned no metadata")?;
    meta.arn.context("CreateKey returned no ARN")
}

/// The ARN of an existing key (alias, id or ARN); a real target never gets a key made
/// silently.
async fn existing_key(
    kms: &aws_sdk_kms::Client,
    key: &str,
    region: &str,
) -> anyhow::Result<String> {
    let d = kms.describe_key().key_id(key).send().await.map_err(|e| {
        anyhow::anyhow!(
            "KMS key {key} in {region}: {}; pass --kms-key ALIAS|ARN of a key you may use, or --create-key",
            aws_sdk_kms::error::DisplayErrorContext(e)
        )
    })?;
    let meta = d.key_metadata.context("DescribeKey returned no metadata")?;
    if let Some(state) = meta.key_state()
        && state.as_str() != "Enabled"
    {
        anyhow::bail!("KMS key {key} is {}: it cannot encrypt", state.as_str());
    }
    meta.arn.context("DescribeKey returned no ARN")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_flags_name_a_bucket_for_every_role_or_one() {
        assert_eq!(
            Access::parse_buckets(&["team-bench".into(), "logs=log.bucket-1".into()]).unwrap(),
            vec![
                (None, "team-bench".to_owned()),
                (Some("logs".to_owned()), "log.bucket-1".to_owned())
            ]
        );
        for bad in ["Upper", "ab", "under_score", "role=", &"x".repeat(64)] {
            let e = Access::parse_buckets(&[bad.to_owned()]).unwrap_err();
            assert!(e.contains("--bucket"), "{bad}: {e}");
        }
    }

    #[test]
    fn bucket_names_are_valid_and_bounded() {
        let n = bucket_name(
            "SSE_Bench",
            "0a1b2c3d",
            Mode::SseKmsBucketKey,
            "Audio Input",
        );
        assert_eq!(n, "sse-bench-0a1b2c3d-sse-kms-bucket-key-audio-input");
        let long = bucket_name("p", "0a1b2c3d", Mode::DsseKms, &"r".repeat(80));
        assert!(long.len() <= 63 && !long.ends_with('-'), "{long}");
    }
}
