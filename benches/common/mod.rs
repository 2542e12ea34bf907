//! Shared by the benches: a simulator with one KMS key and buckets per encryption mode.
// Each bench uses part of it; the simulator field is held only to keep the server running.
#![allow(dead_code)]

use aws_sdk_s3::types::{
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};
use sse_bench::targets::{ClientOptions, StaticCredentials, kms_client, s3_client};
use sse_sim::{SimConfig, Simulator};

/// A running simulator with clients for its first requester and the ARN of one KMS key.
pub struct BenchSim {
    pub sim: Simulator,
    pub s3: aws_sdk_s3::Client,
    pub kms: aws_sdk_kms::Client,
    pub key: String,
}

/// Starts a simulator (latency models off) and creates `buckets` as (name, algorithm, Bucket Key).
pub async fn start(buckets: &[(&str, &str, bool)]) -> BenchSim {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let creds = StaticCredentials::from(&sim.credentials()[0]);
    let s3 = s3_client(&ClientOptions::endpoint(
        &sim.s3_endpoint(),
        "us-east-1",
        creds.clone(),
    ));
    let kms = kms_client(&ClientOptions::endpoint(
        &sim.kms_endpoint(),
        "us-east-1",
        creds,
    ));
    let key = kms
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .arn
        .unwrap();
    for &(name, alg, bucket_key) in buckets {
        s3.create_bucket().bucket(name).send().await.unwrap();
        let mut d =
            ServerSideEncryptionByDefault::builder().sse_algorithm(ServerSideEncryption::from(alg));
        if alg != "AES256" {
            d = d.kms_master_key_id(&key);
        }
        let rule = ServerSideEncryptionRule::builder()
            .apply_server_side_encryption_by_default(d.build().unwrap())
            .bucket_key_enabled(bucket_key)
            .build();
        s3.put_bucket_encryption()
            .bucket(name)
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder()
                    .rules(rule)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    BenchSim { sim, s3, kms, key }
}
