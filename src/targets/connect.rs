//! Connecting to a target: the embedded simulator started in-process, an S3-compatible
//! endpoint with static or per-principal credentials, or AWS through aws-config's
//! chain; one S3 (and KMS) client per principal, each counting SDK attempts; the KMS
//! key settled before any bucket is made.

use super::counter::{AdminEndpoint, InProcess};
use super::discover::discover;
use super::keys::KeyRef;
use super::{
    Access, AttemptCounter, ClientOptions, Counted, KEY_DELETION_DAYS, RUN_TAG, RetryPolicy,
    StaticCredentials, Target, TargetSpec, aws, kms_client, s3_client,
};
use crate::error::{Context as _, Error, Result};
use crate::scenario::LoadedScenario;
use sse_sim::{Clock, SimConfig, Simulator};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// The simulator configuration a scenario asks for; `region` (`--region`) overrides
/// the scenario's, and with it the prices and the default KMS quota.
pub fn sim_config(
    ls: &LoadedScenario,
    seed: u64,
    principals: &[String],
    region: Option<&str>,
) -> SimConfig {
    let mut c = ls.scenario.simulator.clone();
    if let Some(r) = region.or(ls.scenario.target.region.as_deref()) {
        c.region = r.to_owned();
    }
    c.seed = seed;
    c.requesters = principals.len().max(1) as u32;
    // Principal i signs with generated requester i; a principal's role is its session's.
    c.requester_roles = principals
        .iter()
        .map(|p| ls.scenario.role_of(p).map(str::to_owned))
        .collect();
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
    ) -> Result<Target> {
        let t = &ls.scenario.target;
        let attempts = AttemptCounter::default();
        let count_kms = |c: aws_sdk_kms::Client| c.counted(&attempts);
        let count_s3 = |c: aws_sdk_s3::Client| c.counted(&attempts);
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
                let mut config = sim_config(ls, seed, &principals, access.region.as_deref());
                if let Some(dir) = &access.sim_logs {
                    config.logs = Some(dir.clone());
                }
                // Large workloads keep their objects on disk, so memory stays bounded.
                let stored = crate::plan::stored_bytes(&ls.scenario);
                if config.data_dir.is_none() && stored > crate::plan::MEMORY_BUDGET_BYTES {
                    let dir = tempfile::Builder::new()
                        .prefix("sse-bench-objects-")
                        .tempdir()
                        .context("creating a directory for the simulator's objects")?;
                    tracing::info!(
                        "about {:.0} MiB of objects: the simulator keeps them in {}",
                        stored / 1048576.0,
                        dir.path().display()
                    );
                    config.data_dir = Some(dir.path().to_owned());
                    target.spill = Some(dir);
                }
                let lo = SocketAddr::from(([127, 0, 0, 1], 0));
                let sim = Simulator::start_on(config, Clock::real(), lo, lo)
                    .await
                    .context("starting the embedded simulator")?;
                let region = sim.config().region.clone();
                let creds = sim.credentials();
                // Principal i signs with the simulator's i-th requester credential.
                let signed =
                    |url: &str, i: usize| opts(url, &region, StaticCredentials::from(&creds[i]));
                let n = principals.len();
                target.clients = (0..n)
                    .map(|i| count_s3(s3_client(&signed(&sim.s3_endpoint(), i))))
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
                target.kms_clients = (0..n)
                    .map(|i| count_kms(kms_client(&signed(&sim.kms_endpoint(), i))))
                    .collect();
                sim.reset_stats();
                target.region = region;
                target.kms_key_arn = meta.arn;
                target.counter = Some(Arc::new(InProcess(sim.clone())));
                target.sim = Some(sim);
            }
            TargetSpec::Endpoint(url) => {
                // `sse-bench serve` says where its KMS and admin endpoints are, unless the
                // scenario names them.
                let found = if t.kms_endpoint.is_none() && t.admin_endpoint.is_none() {
                    discover(url).await
                } else {
                    None
                };
                if let Some(d) = &found {
                    eprintln!(
                        "{url} is sse-bench serve: KMS at {}, exact KMS counts from {}",
                        d.kms_endpoint, d.admin_endpoint
                    );
                }
                let kms_endpoint = t
                    .kms_endpoint
                    .clone()
                    .or_else(|| found.as_ref().map(|d| d.kms_endpoint.clone()));
                let admin_endpoint = t
                    .admin_endpoint
                    .clone()
                    .or_else(|| found.as_ref().map(|d| d.admin_endpoint.clone()));
                let region = access
                    .region
                    .clone()
                    .or_else(|| t.region.clone())
                    .or_else(|| found.as_ref().map(|d| d.region.clone()))
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
                        None => {
                            return Err(Error::failure(format!(
                                "endpoint target {url}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the endpoint (or map principal {name} in [target.principals])"
                            )));
                        }
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
                if let Some(a) = &admin_endpoint {
                    let admin = AdminEndpoint::connect(a)
                        .await
                        .with_context(|| format!("reading the admin endpoint {a}"))?;
                    target.counter = Some(Arc::new(admin));
                }
                // With a KMS endpoint (e.g. `sse-bench serve`), the key lives there.
                if let Some(kms_url) = &kms_endpoint {
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
                    let key = needs_key.then_some(KeyRef::Alias(&key_ref));
                    target
                        .settle_key(admin, key, access.create_key, run_id)
                        .await?;
                } else {
                    if access.create_key {
                        return Err(Error::failure(
                            "--create-key needs a KMS endpoint: set [target] kms_endpoint",
                        ));
                    }
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
                let key = needs_key.then_some(KeyRef::Existing {
                    key: &key_ref,
                    region: &region,
                });
                target
                    .settle_key(admin, key, access.create_key, run_id)
                    .await?;
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
            spill: None,
            principals,
            clients,
            kms_key_arn: None,
            buckets: BTreeMap::new(),
            attempts: AttemptCounter::default(),
            kms_clients: Vec::new(),
            counter: None,
            created: Default::default(),
            key_prefix: String::new(),
            created_key: None,
            sdk_config: None,
            key_admin: None,
        }
    }
}
