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

/// What connecting to any kind of target shares: the scenario's `[target]`, the
/// flags, the principals and the KMS key the run needs.
struct Connecting<'a> {
    ls: &'a LoadedScenario,
    access: &'a Access,
    principals: &'a [String],
    run_id: &'a str,
    /// Whether any mode (or a KMS scenario) needs a KMS key.
    needs_key: bool,
    /// The key as named: `--kms-key`, else `[target] kms_key`.
    key_ref: String,
}

impl Connecting<'_> {
    fn target(&self) -> &crate::scenario::TargetConfig {
        &self.ls.scenario.target
    }

    /// Client options of the scenario (retries, timeout) for an endpoint.
    fn opts(&self, url: &str, region: &str, creds: StaticCredentials) -> ClientOptions {
        ClientOptions {
            retry: self.target().retries,
            timeout: self.target().timeout.0,
            ..ClientOptions::endpoint(url, region, creds)
        }
    }
}

/// How a principal signs at an endpoint: its own profile or role (from
/// `[target.principals]`), or the environment's static credentials.
enum Signer {
    /// A mapped principal's SDK configuration, pointed at the endpoint.
    Config(Box<aws_config::SdkConfig>),
    /// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`.
    Static(StaticCredentials),
}

impl Signer {
    fn s3(&self, c: &Connecting<'_>, url: &str, region: &str) -> aws_sdk_s3::Client {
        let t = c.target();
        match self {
            Signer::Config(cfg) => aws::s3_client(cfg, t.retries, t.timeout.0, true),
            Signer::Static(creds) => s3_client(&c.opts(url, region, creds.clone())),
        }
    }

    fn kms(&self, c: &Connecting<'_>, url: &str, region: &str) -> aws_sdk_kms::Client {
        let t = c.target();
        match self {
            Signer::Config(cfg) => aws::kms_client(
                &cfg.to_builder().endpoint_url(url).build(),
                t.retries,
                t.timeout.0,
            ),
            Signer::Static(creds) => kms_client(&c.opts(url, region, creds.clone())),
        }
    }
}

/// One signer per principal of an endpoint run; a principal with neither a mapping
/// nor credentials in the environment is a usage error, found before anything is sent.
async fn endpoint_signers(c: &Connecting<'_>, url: &str, region: &str) -> Result<Vec<Signer>> {
    let env_creds = StaticCredentials::from_env();
    let mut signers = Vec::new();
    for name in c.principals {
        match (c.target().principals.get(name), &env_creds) {
            (Some(src), _) => {
                let base = aws::load(c.access.profile.as_deref(), Some(region)).await;
                let cfg = aws::principal_config(&base, region, name, src, c.run_id)
                    .await
                    .to_builder()
                    .endpoint_url(url)
                    .build();
                aws::check_credentials(&cfg, &format!("principal {name}")).await?;
                signers.push(Signer::Config(Box::new(cfg)));
            }
            (None, Some(creds)) => signers.push(Signer::Static(creds.clone())),
            (None, None) => {
                return Err(Error::usage(format!(
                    "endpoint target {url}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the endpoint (or map principal {name} in [target.principals])"
                )));
            }
        }
    }
    Ok(signers)
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
        let c = Connecting {
            ls,
            access,
            principals: &principals,
            run_id,
            needs_key: ls.scenario.kind == crate::scenario::ScenarioKind::Kms
                || ls.scenario.modes.iter().any(|m| m.uses_kms()),
            key_ref: access
                .kms_key
                .clone()
                .unwrap_or_else(|| ls.scenario.target.kms_key.clone()),
        };
        let mut target = Target::bare(spec.clone(), principals.clone(), Vec::new());
        match &spec {
            TargetSpec::Embedded => target.connect_embedded(&c, seed).await?,
            TargetSpec::Endpoint(url) => target.connect_endpoint(&c, url).await?,
            TargetSpec::Aws => target.connect_aws(&c).await?,
        }
        if let Some(arn) = &target.created_key {
            eprintln!(
                "CREATED KMS KEY {arn} (tagged {RUN_TAG}={run_id}): its deletion is scheduled at the end of the run ({KEY_DELETION_DAYS}-day window, the minimum)"
            );
        }
        Ok(target)
    }

    /// The embedded simulator, started in-process: one requester credential per
    /// principal, the run's key and alias created in its KMS.
    async fn connect_embedded(&mut self, c: &Connecting<'_>, seed: u64) -> Result<()> {
        let mut config = sim_config(c.ls, seed, c.principals, c.access.region.as_deref());
        if let Some(dir) = &c.access.sim_logs {
            config.logs = Some(dir.clone());
        }
        // Large workloads keep their objects on disk, so memory stays bounded.
        let stored = crate::plan::stored_bytes(&c.ls.scenario);
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
            self.spill = Some(dir);
        }
        let lo = SocketAddr::from(([127, 0, 0, 1], 0));
        let sim = Simulator::start_on(config, Clock::real(), lo, lo)
            .await
            .context("starting the embedded simulator")?;
        let region = sim.config().region.clone();
        let creds = sim.credentials();
        // Principal i signs with the simulator's i-th requester credential.
        let signed = |url: &str, i: usize| c.opts(url, &region, StaticCredentials::from(&creds[i]));
        let n = c.principals.len();
        self.clients = (0..n)
            .map(|i| s3_client(&signed(&sim.s3_endpoint(), i)).counted(&self.attempts))
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
            .map_err(crate::sdk_error::failure)
            .context("creating the KMS key")?;
        let meta = key.key_metadata.context("CreateKey returned no metadata")?;
        kms.create_alias()
            .alias_name(&c.target().kms_key)
            .target_key_id(meta.key_id())
            .send()
            .await
            .map_err(crate::sdk_error::failure)
            .context("creating the key alias")?;
        self.kms_clients = (0..n)
            .map(|i| kms_client(&signed(&sim.kms_endpoint(), i)).counted(&self.attempts))
            .collect();
        sim.reset_stats();
        self.region = region;
        self.kms_key_arn = meta.arn;
        self.counter = Some(Arc::new(InProcess(sim.clone())));
        self.sim = Some(sim);
        Ok(())
    }

    /// An S3-compatible endpoint: `sse-bench serve` found behind it (its KMS and admin
    /// endpoints), or the scenario's `kms_endpoint` / `admin_endpoint`; principals sign
    /// with their profiles, or the environment's static credentials.
    async fn connect_endpoint(&mut self, c: &Connecting<'_>, url: &str) -> Result<()> {
        let t = c.target();
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
        let region = c
            .access
            .region
            .clone()
            .or_else(|| t.region.clone())
            .or_else(|| found.as_ref().map(|d| d.region.clone()))
            .unwrap_or_else(|| "us-east-1".into());
        let signers = endpoint_signers(c, url, &region).await?;
        self.clients = signers
            .iter()
            .map(|s| s.s3(c, url, &region).counted(&self.attempts))
            .collect();
        // Read before any key is made, so a bad admin URL leaves nothing behind.
        if let Some(a) = &admin_endpoint {
            let admin = AdminEndpoint::connect(a)
                .await
                .with_context(|| format!("reading the admin endpoint {a}"))?;
            self.counter = Some(Arc::new(admin));
        }
        // With a KMS endpoint (e.g. `sse-bench serve`), the key lives there.
        if let Some(kms_url) = &kms_endpoint {
            self.kms_clients = signers
                .iter()
                .map(|s| s.kms(c, kms_url, &region).counted(&self.attempts))
                .collect();
            let admin = signers
                .first()
                .map(|s| s.kms(c, kms_url, &region))
                .context("no principal")?;
            let key = c.needs_key.then_some(KeyRef::Alias(&c.key_ref));
            self.settle_key(admin, key, c.access.create_key, c.run_id)
                .await?;
        } else if c.access.create_key {
            return Err(Error::usage(
                "--create-key needs a KMS endpoint: set [target] kms_endpoint",
            ));
        } else {
            self.kms_key_arn = c.needs_key.then(|| c.key_ref.clone());
        }
        self.region = region;
        Ok(())
    }

    /// Real AWS through aws-config's chain: each principal's own identity (a profile or
    /// an assumed role), checked before anything is created, and the existing or
    /// created KMS key.
    async fn connect_aws(&mut self, c: &Connecting<'_>) -> Result<()> {
        let t = c.target();
        let region = c.access.region.as_deref().or(t.region.as_deref());
        let base = aws::load(c.access.profile.as_deref(), region).await;
        let region = base.region().map(|r| r.to_string()).context(
            "no AWS region: set [target] region, --region, AWS_REGION or a region in the profile",
        )?;
        let path_style = aws::custom_s3_endpoint(&base);
        for name in c.principals {
            let cfg = match t.principals.get(name) {
                Some(src) => aws::principal_config(&base, &region, name, src, c.run_id).await,
                None => base.clone(),
            };
            aws::check_credentials(&cfg, &format!("principal {name}")).await?;
            self.clients.push(
                aws::s3_client(&cfg, t.retries, t.timeout.0, path_style).counted(&self.attempts),
            );
            self.kms_clients
                .push(aws::kms_client(&cfg, t.retries, t.timeout.0).counted(&self.attempts));
        }
        let admin = aws::kms_client(&base, RetryPolicy::Standard, t.timeout.0);
        let key = c.needs_key.then_some(KeyRef::Existing {
            key: &c.key_ref,
            region: &region,
        });
        self.settle_key(admin, key, c.access.create_key, c.run_id)
            .await?;
        self.region = region;
        self.sdk_config = Some(base);
        Ok(())
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
