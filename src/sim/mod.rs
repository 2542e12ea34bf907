//! The embedded S3 + KMS simulator (DESIGN.md §5).
//!
//! An S3-compatible server (s3s: protocol and SigV4) and a KMS-compatible
//! server (awsJson1_1) on loopback, with real AES-256-GCM envelope encryption,
//! Bucket Keys, a shared KMS quota, exact accounting, and latency and fault
//! models. It knows nothing of the harness: clients reach it only over HTTP,
//! and tests and the harness read its counters through [`Simulator::stats`].

pub mod accounting;
pub mod bucket_key;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod faults;
pub mod kms;
mod kms_api;
pub mod s3;
mod server;
mod sigv4;
pub mod sse;
pub mod store;

pub use accounting::{KmsStats, S3Stats, SimStats};
pub use clock::Clock;
pub use config::{Credential, Faults, LatencyModel, SimConfig};

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// Everything the servers share.
pub struct SimState {
    /// Configuration in force.
    pub config: SimConfig,
    /// Time source for quota windows and Bucket Key lifetimes.
    pub clock: Clock,
    /// Counters.
    pub accounting: Arc<accounting::Accounting>,
    /// Simulated KMS.
    pub kms: Arc<kms::Kms>,
    /// Envelope encryption used by S3.
    pub envelope: sse::Envelope,
    /// Buckets and objects.
    pub store: store::Store,
    /// Latency and fault sampling.
    pub faults: Arc<faults::FaultModel>,
    /// Accepted access keys and their secrets.
    pub(crate) secrets: HashMap<String, String>,
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

/// A running simulator; dropping it stops accepting connections.
pub struct Simulator {
    state: Arc<SimState>,
    s3_addr: SocketAddr,
    kms_addr: SocketAddr,
    tasks: Vec<tokio::task::JoinHandle<()>>,
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
        let accounting = Arc::new(accounting::Accounting::new(clock.clone()));
        let kms_svc = Arc::new(kms::Kms::new(
            &config.region,
            &config.account_id,
            config.effective_kms_quota(),
            accounting.clone(),
            clock.clone(),
        ));
        let faults = Arc::new(faults::FaultModel::new(
            config.seed,
            config.s3_latency,
            config.kms_latency,
            config.faults.clone(),
        ));
        let envelope = sse::Envelope::new(
            kms_svc.clone(),
            bucket_key::BucketKeys::new(config.bucket_key_lifetime.0, clock.clone()),
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
        });
        let s3_listener = tokio::net::TcpListener::bind(s3).await?;
        let kms_listener = tokio::net::TcpListener::bind(kms).await?;
        let s3_addr = s3_listener.local_addr()?;
        let kms_addr = kms_listener.local_addr()?;
        let tasks = vec![
            tokio::spawn(server::serve_s3(s3_listener, state.clone())),
            tokio::spawn(server::serve_kms(kms_listener, state.clone())),
        ];
        Ok(Simulator {
            state,
            s3_addr,
            kms_addr,
            tasks,
        })
    }

    /// `http://` URL of the S3 endpoint.
    pub fn s3_endpoint(&self) -> String {
        format!("http://{}", self.s3_addr)
    }

    /// `http://` URL of the KMS endpoint.
    pub fn kms_endpoint(&self) -> String {
        format!("http://{}", self.kms_addr)
    }

    /// URL of the admin endpoint (JSON stats at `/_sim/stats`, Prometheus at `/_sim/metrics`).
    pub fn admin_endpoint(&self) -> String {
        format!("http://{}/_sim", self.kms_addr)
    }

    /// Credentials the simulator accepts (requesters first).
    pub fn credentials(&self) -> Vec<Credential> {
        self.state.config.all_credentials()
    }

    /// The configuration in force.
    pub fn config(&self) -> &SimConfig {
        &self.state.config
    }

    /// A snapshot of every counter.
    pub fn stats(&self) -> SimStats {
        self.state.accounting.snapshot()
    }

    /// Zeroes the counters.
    pub fn reset_stats(&self) {
        self.state.accounting.reset();
    }

    /// The simulator's clock (advance it in tests built with [`Clock::manual`]).
    pub fn clock(&self) -> &Clock {
        &self.state.clock
    }

    /// Changes the KMS quota (0 = unlimited).
    pub fn set_kms_quota(&self, rps: u64) {
        self.state.kms.quota.set_limit(rps);
    }

    /// Test switch: makes GETs of an object return one flipped byte and no checksum.
    pub fn corrupt_object(&self, bucket: &str, key: &str) -> bool {
        self.state.store.corrupt(bucket, key)
    }

    /// The shared state (for in-process inspection).
    pub fn state(&self) -> &Arc<SimState> {
        &self.state
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
