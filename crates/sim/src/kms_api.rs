//! The KMS wire protocol: awsJson1_1 requests (`X-Amz-Target: TrentService.<Op>`)
//! mapped onto [`Kms`], with errors as `{"__type", "message"}`.

use crate::accounting::Caller;
use crate::kms::{EncryptionContext, Kms, KmsError};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Req {
    key_id: Option<String>,
    description: Option<String>,
    alias_name: Option<String>,
    target_key_id: Option<String>,
    encryption_context: Option<EncryptionContext>,
    key_spec: Option<String>,
    number_of_bytes: Option<i64>,
    plaintext: Option<String>,
    ciphertext_blob: Option<String>,
    source_encryption_context: Option<EncryptionContext>,
    destination_key_id: Option<String>,
    destination_encryption_context: Option<EncryptionContext>,
    tags: Option<Vec<TagEntry>>,
    pending_window_in_days: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagEntry {
    tag_key: String,
    tag_value: String,
}

fn required<'a>(v: &'a Option<String>, name: &str) -> Result<&'a str, KmsError> {
    v.as_deref().ok_or_else(|| KmsError::Validation(format!("1 validation error detected: Value null at '{name}' failed to satisfy constraint: Member must not be null")))
}

fn blob(v: &Option<String>, name: &str) -> Result<Vec<u8>, KmsError> {
    B64.decode(required(v, name)?)
        .map_err(|_| KmsError::Validation(format!("{name} is not valid base64")))
}

fn data_key_len(r: &Req) -> Result<usize, KmsError> {
    match (&r.key_spec, r.number_of_bytes) {
        (Some(_), Some(_)) => Err(KmsError::Validation(
            "Specify either KeySpec or NumberOfBytes, not both".into(),
        )),
        (Some(s), None) if s == "AES_256" => Ok(32),
        (Some(s), None) if s == "AES_128" => Ok(16),
        (Some(s), None) => Err(KmsError::Validation(format!("Invalid KeySpec {s}"))),
        (None, Some(n)) if (1..=1024).contains(&n) => Ok(n as usize),
        (None, Some(n)) => Err(KmsError::Validation(format!(
            "NumberOfBytes must be between 1 and 1024, got {n}"
        ))),
        (None, None) => Err(KmsError::Validation(
            "Please specify either number of bytes or key spec.".into(),
        )),
    }
}

/// Runs one operation; returns the JSON response body.
pub fn dispatch(kms: &Kms, op: &str, body: &[u8], caller: &Caller) -> Result<Value, KmsError> {
    let r: Req = if body.is_empty() {
        Req::default()
    } else {
        serde_json::from_slice(body)
            .map_err(|e| KmsError::Validation(format!("malformed request body: {e}")))?
    };
    let ctx = |c: &Option<EncryptionContext>| c.clone().unwrap_or_default();
    Ok(match op {
        "CreateKey" => {
            let tags = r
                .tags
                .unwrap_or_default()
                .into_iter()
                .map(|t| (t.tag_key, t.tag_value))
                .collect();
            json!({ "KeyMetadata": kms.create_key_tagged(r.description.as_deref().unwrap_or(""), tags, caller) })
        }
        "ListResourceTags" => {
            let tags: Vec<Value> = kms
                .tags(required(&r.key_id, "keyId")?, caller)?
                .into_iter()
                .map(|(k, v)| json!({"TagKey": k, "TagValue": v}))
                .collect();
            json!({ "Tags": tags, "Truncated": false })
        }
        "ScheduleKeyDeletion" => {
            let meta = kms.schedule_deletion(
                required(&r.key_id, "keyId")?,
                r.pending_window_in_days.unwrap_or(30),
                caller,
            )?;
            json!({ "KeyId": meta.arn, "DeletionDate": meta.deletion_date,
                    "KeyState": meta.key_state, "PendingWindowInDays": meta.pending_deletion_window_in_days })
        }
        "DescribeKey" => {
            json!({ "KeyMetadata": kms.describe_key(required(&r.key_id, "keyId")?, caller)? })
        }
        "ListKeys" => {
            let keys: Vec<Value> = kms
                .list_keys(caller)
                .into_iter()
                .map(|(id, arn)| json!({"KeyId": id, "KeyArn": arn}))
                .collect();
            json!({ "Keys": keys, "Truncated": false })
        }
        "CreateAlias" => {
            kms.create_alias(
                required(&r.alias_name, "aliasName")?,
                required(&r.target_key_id, "targetKeyId")?,
                caller,
            )?;
            json!({})
        }
        "ListAliases" => {
            let filter = r.key_id.as_deref().map(|k| kms.resolve(k)).transpose()?;
            let aliases: Vec<Value> = kms
                .list_aliases(caller)
                .into_iter()
                .filter(|(_, _, id)| filter.as_ref().is_none_or(|f| f == id))
                .map(|(name, arn, id)| json!({"AliasName": name, "AliasArn": arn, "TargetKeyId": id}))
                .collect();
            json!({ "Aliases": aliases, "Truncated": false })
        }
        "EnableKey" | "DisableKey" => {
            kms.set_enabled(required(&r.key_id, "keyId")?, op == "EnableKey", caller)?;
            json!({})
        }
        "GenerateDataKey" | "GenerateDataKeyWithoutPlaintext" => {
            let with_pt = op == "GenerateDataKey";
            let dk = kms.generate_data_key(
                required(&r.key_id, "keyId")?,
                &ctx(&r.encryption_context),
                data_key_len(&r)?,
                caller,
                with_pt,
            )?;
            let mut v =
                json!({ "CiphertextBlob": B64.encode(&dk.ciphertext_blob), "KeyId": dk.key_arn });
            if with_pt {
                v["Plaintext"] = json!(B64.encode(&dk.plaintext));
            }
            v
        }
        "Encrypt" => {
            let pt = blob(&r.plaintext, "plaintext")?;
            let out = kms.encrypt(
                required(&r.key_id, "keyId")?,
                &pt,
                &ctx(&r.encryption_context),
                caller,
            )?;
            json!({ "CiphertextBlob": B64.encode(&out.ciphertext_blob), "KeyId": out.key_arn, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT" })
        }
        "Decrypt" => {
            let b = blob(&r.ciphertext_blob, "ciphertextBlob")?;
            let (pt, arn) =
                kms.decrypt(&b, &ctx(&r.encryption_context), r.key_id.as_deref(), caller)?;
            json!({ "Plaintext": B64.encode(&pt), "KeyId": arn, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT" })
        }
        "ReEncrypt" => {
            let b = blob(&r.ciphertext_blob, "ciphertextBlob")?;
            let (ct, src, dst) = kms.re_encrypt(
                &b,
                &ctx(&r.source_encryption_context),
                required(&r.destination_key_id, "destinationKeyId")?,
                &ctx(&r.destination_encryption_context),
                caller,
            )?;
            json!({ "CiphertextBlob": B64.encode(&ct), "SourceKeyId": src, "KeyId": dst,
                    "SourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT", "DestinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT" })
        }
        other => {
            return Err(KmsError::Validation(format!(
                "operation {other} is not supported by the sse-bench simulator"
            )));
        }
    })
}
