//! The embedded S3 + KMS simulator.
//!
//! An S3-compatible server (s3s: protocol and SigV4) and a KMS-compatible
//! server (awsJson1_1) on loopback, with real AES-256-GCM envelope encryption,
//! Bucket Keys, a shared KMS quota, exact accounting, and latency and fault
//! models.
//!
//! It knows nothing of the harness that drives it: clients reach it only over
//! HTTP. Its public API is small: start and stop a [`Simulator`] with a
//! [`SimConfig`], read a [`SimStats`] snapshot (the same document the admin
//! endpoint serves at `/_sim/stats`), and read or change the KMS quota.
//! Everything else (storage, envelope, Bucket Key cache, fault model, the S3
//! and KMS handlers) is private to this crate.

mod accounting;
mod admin;
mod bucket_key;
mod clock;
mod config;
pub mod crypto;
mod faults;
mod kms;
mod kms_api;
mod limits;
mod logs;
mod respond;
mod s3;
mod server;
mod sigv4;
mod sse;
mod stats;
mod store;
mod trail;
mod units;

pub use clock::Clock;
pub use config::{
    Credential, DEFAULT_ACCOUNT_ID, Faults, LatencyModel, RequesterRule, SimConfig,
    default_kms_quota, requester_credential,
};
pub use limits::Limits;
pub use stats::{KmsCallCount, KmsStats, S3Stats, SecondCount, ServedLatency, SimStats, Via};
pub use units::{HumanDuration, parse_duration};

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// Everything the servers share.
pub(crate) struct SimState {
    /// Configuration in force.
    pub(crate) config: SimConfig,
    /// Time source for quota windows and Bucket Key lifetimes.
    pub(crate) clock: Clock,
    /// Counters.
    pub(crate) accounting: Arc<accounting::Accounting>,
    /// Simulated KMS.
    pub(crate) kms: Arc<kms::Kms>,
    /// Envelope encryption used by S3.
    pub(crate) envelope: sse::Envelope,
    /// Buckets and objects.
    pub(crate) store: store::Store,
    /// Latency and fault sampling.
    pub(crate) faults: Arc<faults::FaultModel>,
    /// Accepted access keys and their secrets.
    pub(crate) secrets: HashMap<String, String>,
    /// Access logs and CloudTrail files of the simulator's traffic, when on.
    pub(crate) logs: Option<Arc<logs::Logs>>,
}

/// Errors starting the simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A configuration value is out of range.
    #[error("simulator configuration: {0}")]
    Config(String),
    /// Binding or preparing storage failed.
    #[error("simulator: {0}")]
    Io(#[from] std::io::Error),
}

/// The servers of one simulator; dropping the last handle stops them.
struct Running {
    state: Arc<SimState>,
    s3_addr: SocketAddr,
    kms_addr: SocketAddr,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A running simulator. Clones are handles to the same servers and counters; the
/// servers stop when the last handle is dropped or [`Simulator::stop`] is called.
#[derive(Clone)]
pub struct Simulator {
    running: Arc<Running>,
}

impl Simulator {
    /// Starts on ephemeral loopback ports with a real clock.
    pub async fn start(config: SimConfig) -> Result<Self, SimError> {
        let lo = SocketAddr::from(([127, 0, 0, 1], 0));
        Self::start_on(config, Clock::real(), lo, lo).await
    }

    /// Starts on the given addresses and clock.
    pub async fn start_on(
        config: SimConfig,
        clock: Clock,
        s3: SocketAddr,
        kms: SocketAddr,
    ) -> Result<Self, SimError> {
        config.faults.validate().map_err(SimError::Config)?;
        config
            .s3_latency
            .validate()
            .map_err(|e| SimError::Config(format!("s3_latency: {e}")))?;
        config
            .kms_latency
            .validate()
            .map_err(|e| SimError::Config(format!("kms_latency: {e}")))?;
        config.limits.validate().map_err(SimError::Config)?;
        let accounting = Arc::new(accounting::Accounting::new(clock.clone()));
        let logs = match &config.logs {
            Some(dir) => Some(Arc::new(logs::Logs::open(
                dir,
                &config.account_id,
                &config.region,
                config.credential_roles(),
            )?)),
            None => None,
        };
        let kms_svc = Arc::new(kms::Kms::new(
            &config.region,
            &config.account_id,
            config.effective_kms_quota(),
            accounting.clone(),
            clock.clone(),
            Arc::new(
                trail::Trail::new(
                    &config.region,
                    &config.account_id,
                    config.credential_roles(),
                )
                .with_sink(logs.clone()),
            ),
        ));
        let faults = Arc::new(faults::FaultModel::new(
            config.seed,
            config.s3_latency,
            config.kms_latency,
            config.faults.clone(),
        ));
        let envelope = sse::Envelope::new(
            kms_svc.clone(),
            bucket_key::BucketKeys::new(
                config.bucket_key_lifetime.0,
                clock.clone(),
                config.bucket_key_identities(),
            ),
            faults.clone(),
        );
        let secrets = config
            .all_credentials()
            .into_iter()
            .map(|c| (c.access_key_id, c.secret_access_key))
            .collect();
        let state = Arc::new(SimState {
            store: store::Store::new(config.data_dir.clone())?,
            config,
            clock,
            accounting,
            kms: kms_svc,
            envelope,
            faults,
            secrets,
            logs,
        });
        let s3_listener = tokio::net::TcpListener::bind(s3).await?;
        let kms_listener = tokio::net::TcpListener::bind(kms).await?;
        let s3_addr = s3_listener.local_addr()?;
        let kms_addr = kms_listener.local_addr()?;
        let tasks = vec![
            tokio::spawn(server::serve_s3(
                s3_listener,
                state.clone(),
                kms_addr.port(),
            )),
            tokio::spawn(server::serve_kms(kms_listener, state.clone())),
        ];
        Ok(Simulator {
            running: Arc::new(Running {
                state,
                s3_addr,
                kms_addr,
                tasks,
            }),
        })
    }

    fn state(&self) -> &SimState {
        &self.running.state
    }

    /// Stops accepting connections (every handle's servers stop).
    pub fn stop(&self) {
        for t in &self.running.tasks {
            t.abort();
        }
    }

    /// `http://` URL of the S3 endpoint.
    pub fn s3_endpoint(&self) -> String {
        format!("http://{}", self.running.s3_addr)
    }

    /// `http://` URL of the KMS endpoint.
    pub fn kms_endpoint(&self) -> String {
        format!("http://{}", self.running.kms_addr)
    }

    /// URL of the admin endpoint (JSON stats at `/_sim/stats`, Prometheus at `/_sim/metrics`).
    pub fn admin_endpoint(&self) -> String {
        format!("http://{}/_sim", self.running.kms_addr)
    }

    /// Credentials the simulator accepts (requesters first).
    pub fn credentials(&self) -> Vec<Credential> {
        self.state().config.all_credentials()
    }

    /// The configuration in force.
    pub fn config(&self) -> &SimConfig {
        &self.state().config
    }

    /// A snapshot of every counter.
    pub fn stats(&self) -> SimStats {
        self.state().accounting.snapshot()
    }

    /// Cumulative (served, throttled) KMS calls: cheaper than a snapshot, for
    /// once-a-second readings.
    pub fn kms_totals(&self) -> (u64, u64) {
        self.state().accounting.kms_totals()
    }

    /// Zeroes the counters.
    pub fn reset_stats(&self) {
        self.state().accounting.reset();
    }

    /// The simulator's clock (advance it in tests built with [`Clock::manual`]).
    pub fn clock(&self) -> &Clock {
        &self.state().clock
    }

    /// The KMS quota in force, requests per second (0 = unlimited).
    pub fn kms_quota(&self) -> u64 {
        self.state().kms.quota.limit()
    }

    /// Changes the KMS quota (0 = unlimited).
    pub fn set_kms_quota(&self, rps: u64) {
        self.state().kms.quota.set_limit(rps);
    }

    /// Writes the logs' buffers out (access log lines, a CloudTrail file of the
    /// records not yet written). Nothing to do when logs are off.
    pub fn flush_logs(&self) -> std::io::Result<()> {
        match &self.state().logs {
            Some(l) => l.flush(),
            None => Ok(()),
        }
    }

    /// Test switch: makes GETs of an object return one flipped byte and no checksum.
    pub fn corrupt_object(&self, bucket: &str, key: &str) -> bool {
        self.state().store.corrupt(bucket, key)
    }
}
