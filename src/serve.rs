//! `sse-bench serve`: the simulator as a standalone server.

use crate::cli::ServeArgs;
use crate::error::{Error, Result};
use sse_sim::{Clock, SimConfig, Simulator};
use std::net::SocketAddr;

/// Loads the simulator configuration of `serve` (file, then flags).
pub fn load_config(args: &ServeArgs) -> Result<SimConfig> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::failure(format!("{}: cannot read: {e}", path.display())))?;
            toml::from_str::<SimConfig>(&text)
                .map_err(|e| Error::failure(format!("{}: {e}", path.display())))?
        }
        None => SimConfig::default(),
    };
    if let Some(d) = &args.data_dir {
        config.data_dir = Some(d.clone());
    }
    if let Some(d) = &args.logs {
        config.logs = Some(d.clone());
    }
    if let Some(r) = args.requesters {
        config.requesters = r;
    }
    if let Some(q) = args.kms_quota {
        config.kms_quota_rps = Some(q);
    }
    if let Some(b) = args.max_body {
        config.limits.max_body_bytes = b;
    }
    Ok(config)
}

/// Addresses other than loopback need `--allow-remote`, and get a warning.
fn check_exposure(addrs: &[SocketAddr], allow: bool) -> Result<(), Error> {
    let exposed: Vec<String> = addrs
        .iter()
        .filter(|a| !a.ip().is_loopback())
        .map(ToString::to_string)
        .collect();
    if exposed.is_empty() {
        return Ok(());
    }
    if !allow {
        return Err(Error::Usage(format!(
            "serve: {} is not a loopback address; the simulator's credentials are fixed and printed, so anyone who reaches it can use it: pass --allow-remote to listen there anyway",
            exposed.join(", ")
        )));
    }
    eprintln!(
        "WARNING: serving on {} (not loopback): anyone who can reach it can use the simulator with the credentials below",
        exposed.join(", ")
    );
    Ok(())
}

/// Starts the simulator and serves until Ctrl-C.
pub async fn serve(args: ServeArgs) -> Result<(), Error> {
    let config = load_config(&args).map_err(|e| Error::Usage(format!("{e}")))?;
    let kms_addr = args.kms_listen.unwrap_or_else(|| {
        // An ephemeral S3 port gets an ephemeral KMS port too.
        let port = if args.listen.port() == 0 {
            0
        } else {
            args.listen.port().wrapping_add(1)
        };
        SocketAddr::new(args.listen.ip(), port)
    });
    check_exposure(&[args.listen, kms_addr], args.allow_remote)?;
    let sim = Simulator::start_on(config, Clock::real(), args.listen, kms_addr)
        .await
        .map_err(|e| Error::failure(format!("starting the simulator: {e}")))?;
    let c = sim.config();
    println!(
        "sse-bench simulator (region {}, KMS quota {} req/s)",
        c.region,
        sim.kms_quota()
    );
    println!("  S3 endpoint:    {}", sim.s3_endpoint());
    println!("  KMS endpoint:   {}", sim.kms_endpoint());
    println!(
        "  admin endpoint: {}/stats (JSON), {}/metrics (Prometheus)",
        sim.admin_endpoint(),
        sim.admin_endpoint()
    );
    println!("  credentials (loopback simulator only):");
    for cred in sim.credentials() {
        println!(
            "    AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={}",
            cred.access_key_id, cred.secret_access_key
        );
    }
    println!("Press Ctrl-C to stop.");
    // Clients that parse this banner (tests, scripts) read it through a pipe.
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    // Ctrl-C or SIGTERM (docker stop, systemd): either way the logs are written out.
    let stop = crate::signals::interrupted();
    tokio::pin!(stop);
    // Logs reach their files every few seconds, so a reader sees them while serve runs
    // (CloudTrail itself delivers about every five minutes).
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
    loop {
        tokio::select! {
            () = &mut stop => break,
            _ = tick.tick() => {
                if let Err(e) = sim.flush_logs() {
                    tracing::warn!("writing the logs: {e}");
                }
            }
        }
    }
    sim.flush_logs()
        .map_err(|e| Error::failure(format!("writing the logs: {e}")))?;
    Ok(())
}
