//! The simulator's KMS API through the real aws-sdk-kms client.

use crate::common;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use common::*;
use sse_sim::SimConfig;

fn kms_code<E: aws_sdk_kms::error::ProvideErrorMetadata>(
    e: &aws_sdk_kms::error::SdkError<E, aws_sdk_kms::config::http::HttpResponse>,
) -> (String, u16) {
    match e {
        aws_sdk_kms::error::SdkError::ServiceError(s) => (
            s.err().code().unwrap_or("").to_owned(),
            s.raw().status().as_u16(),
        ),
        _ => (String::new(), 0),
    }
}

#[tokio::test]
async fn key_management() {
    let t = start(SimConfig {
        region: "eu-central-1".into(),
        ..SimConfig::default()
    })
    .await;
    let arn = key(&t.kms, "alias/pipeline-master-key").await;
    assert!(arn.starts_with("arn:aws:kms:eu-central-1:111122223333:key/"));
    let id = arn.rsplit('/').next().unwrap();
    for r in [
        id,
        arn.as_str(),
        "alias/pipeline-master-key",
        "arn:aws:kms:eu-central-1:111122223333:alias/pipeline-master-key",
    ] {
        let d = t.kms.describe_key().key_id(r).send().await.unwrap();
        assert_eq!(
            d.key_metadata.unwrap().arn.as_deref(),
            Some(arn.as_str()),
            "{r}"
        );
    }
    let keys = t.kms.list_keys().send().await.unwrap();
    assert_eq!(keys.keys().len(), 1);
    let aliases = t.kms.list_aliases().send().await.unwrap();
    assert_eq!(aliases.aliases()[0].target_key_id(), Some(id));
    let e = t
        .kms
        .describe_key()
        .key_id("alias/nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(kms_code(&e), ("NotFoundException".into(), 400));
    let e = t
        .kms
        .create_alias()
        .alias_name("alias/pipeline-master-key")
        .target_key_id(id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(kms_code(&e).0, "AlreadyExistsException");
    t.kms.disable_key().key_id(id).send().await.unwrap();
    let d = t
        .kms
        .describe_key()
        .key_id(id)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert!(!d.enabled);
    t.kms.enable_key().key_id(id).send().await.unwrap();
}

#[tokio::test]
async fn cryptographic_operations_are_real() {
    let t = start(SimConfig::default()).await;
    let arn = key(&t.kms, "alias/k").await;
    let other = key(&t.kms, "alias/other").await;
    let dk = t
        .kms
        .generate_data_key()
        .key_id("alias/k")
        .key_spec(DataKeySpec::Aes256)
        .encryption_context("purpose", "test")
        .send()
        .await
        .unwrap();
    assert_eq!(dk.key_id.as_deref(), Some(arn.as_str()));
    let pt = dk.plaintext.unwrap();
    assert_eq!(pt.as_ref().len(), 32);
    let blob = dk.ciphertext_blob.unwrap();
    let d = t
        .kms
        .decrypt()
        .ciphertext_blob(blob.clone())
        .encryption_context("purpose", "test")
        .send()
        .await
        .unwrap();
    assert_eq!(d.plaintext.unwrap().as_ref(), pt.as_ref());
    // The context is bound: a different or missing context fails.
    let e = t
        .kms
        .decrypt()
        .ciphertext_blob(blob.clone())
        .encryption_context("purpose", "other")
        .send()
        .await
        .unwrap_err();
    assert_eq!(kms_code(&e), ("InvalidCiphertextException".into(), 400));
    let e = t
        .kms
        .decrypt()
        .ciphertext_blob(blob.clone())
        .send()
        .await
        .unwrap_err();
    assert_eq!(kms_code(&e).0, "InvalidCiphertextException");
    let e = t
        .kms
        .decrypt()
        .ciphertext_blob(blob.clone())
        .encryption_context("purpose", "test")
        .key_id(&other)
        .send()
        .await
        .unwrap_err();
    assert_eq!(kms_code(&e).0, "IncorrectKeyException");

    let dk = t
        .kms
        .generate_data_key_without_plaintext()
        .key_id(&arn)
        .number_of_bytes(16)
        .send()
        .await
        .unwrap();
    assert!(dk.ciphertext_blob.is_some());
    let e = t
        .kms
        .generate_data_key()
        .key_id(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(kms_code(&e).0, "ValidationException");

    let enc = t
        .kms
        .encrypt()
        .key_id("alias/k")
        .plaintext(Blob::new("secret"))
        .send()
        .await
        .unwrap();
    let re = t
        .kms
        .re_encrypt()
        .ciphertext_blob(enc.ciphertext_blob.unwrap())
        .destination_key_id("alias/other")
        .send()
        .await
        .unwrap();
    assert_eq!(re.source_key_id.as_deref(), Some(arn.as_str()));
    assert_eq!(re.key_id.as_deref(), Some(other.as_str()));
    let d = t
        .kms
        .decrypt()
        .ciphertext_blob(re.ciphertext_blob.unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(d.plaintext.unwrap().as_ref(), b"secret");
    assert_eq!(d.key_id.as_deref(), Some(other.as_str()));

    t.kms.disable_key().key_id("alias/k").send().await.unwrap();
    let e = t
        .kms
        .decrypt()
        .ciphertext_blob(blob)
        .encryption_context("purpose", "test")
        .send()
        .await
        .unwrap_err();
    assert_eq!(kms_code(&e), ("DisabledException".into(), 400));

    // Every call above was counted per API, with the requester as a direct caller.
    let s = t.sim.stats();
    assert_eq!(s.kms.api("GenerateDataKey"), 1);
    assert_eq!(s.kms.api("GenerateDataKeyWithoutPlaintext"), 1);
    assert_eq!(s.kms.api("Encrypt"), 1);
    assert_eq!(s.kms.api("ReEncrypt"), 1);
    assert_eq!(s.kms.api("Decrypt"), 6);
    assert!(
        s.kms
            .calls
            .iter()
            .all(|c| c.via == sse_sim::Via::Direct && c.requester == "SSEBENCHREQUESTER000")
    );
}

#[tokio::test]
async fn admin_endpoint_reports_json_and_prometheus_and_resets() {
    let t = start(SimConfig::default()).await;
    key(&t.kms, "alias/k").await;
    bucket(&t.s3, "admin-b", "aws:kms", Some("alias/k"), false).await;
    put(&t.s3, "admin-b", "k", b"v".to_vec()).await;
    get(&t.s3, "admin-b", "k").await;
    let (status, body) = http("GET", &format!("{}/stats", t.sim.admin_endpoint())).await;
    assert_eq!(status, 200);
    let stats: sse_sim::SimStats = serde_json::from_str(&body).unwrap();
    assert_eq!(stats, t.sim.stats());
    assert_eq!(
        stats
            .kms
            .count_where(|c| c.via == sse_sim::Via::S3 && c.api == "GenerateDataKey"),
        1
    );
    assert_eq!(
        stats
            .kms
            .count_where(|c| c.via == sse_sim::Via::S3 && c.api == "Decrypt"),
        1
    );
    assert_eq!(stats.s3.by_operation["PutObject"], 1);
    let (_, prom) = http("GET", &format!("{}/metrics", t.sim.admin_endpoint())).await;
    assert!(
        prom.contains("sse_sim_kms_requests_total{api=\"Decrypt\""),
        "{prom}"
    );
    assert!(prom.contains("sse_sim_s3_requests_total{operation=\"GetObject\"} 1"));
    let (status, _) = http("POST", &format!("{}/reset", t.sim.admin_endpoint())).await;
    assert_eq!(status, 200);
    assert_eq!(t.sim.stats().kms.total, 0);
    let (status, _) = http("POST", &format!("{}/quota?rps=5", t.sim.admin_endpoint())).await;
    assert_eq!(status, 200);
    let (_, cfg) = http("GET", &format!("{}/config", t.sim.admin_endpoint())).await;
    assert!(cfg.contains("\"kms_quota_rps\":5"));
    assert!(
        !cfg.contains("secret"),
        "config must not expose secrets: {cfg}"
    );
}
