//! The simulated KMS: keys, aliases and real envelope encryption. Ciphertext
//! blobs carry the key id and are sealed with AES-256-GCM using the encryption
//! context as associated data, so a wrong context fails as it does on AWS.

use crate::accounting::{Accounting, Caller, Quota};
use crate::clock::Clock;
use crate::crypto;
use parking_lot::RwLock;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

mod error;
mod ops;

pub use error::KmsError;

/// An encryption context: string pairs bound to a ciphertext.
pub type EncryptionContext = BTreeMap<String, String>;

const BLOB_MAGIC: &[u8; 4] = b"SKB1";
const KEY_ID_LEN: usize = 36;
/// Alias of the AWS managed key S3 uses when `aws:kms` names no key.
pub const S3_MANAGED_ALIAS: &str = "alias/aws/s3";

/// Public description of a key (DescribeKey's `KeyMetadata`).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMetadata {
    /// Key id (a UUID).
    pub key_id: String,
    /// Key ARN.
    pub arn: String,
    /// Account id.
    #[serde(rename = "AWSAccountId")]
    pub aws_account_id: String,
    /// Free text.
    pub description: String,
    /// `Enabled`, `Disabled` or `PendingDeletion`.
    pub key_state: String,
    /// Whether the key can be used.
    pub enabled: bool,
    /// `CUSTOMER` or `AWS`.
    pub key_manager: String,
    /// Always `ENCRYPT_DECRYPT`.
    pub key_usage: String,
    /// Always `SYMMETRIC_DEFAULT`.
    pub key_spec: String,
    /// Creation time, seconds since the epoch.
    pub creation_date: f64,
    /// When a key pending deletion will be deleted, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_date: Option<f64>,
    /// The waiting period of a key pending deletion, days.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_deletion_window_in_days: Option<i64>,
}

struct KeyRecord {
    meta: KeyMetadata,
    material: [u8; 32],
    tags: Vec<(String, String)>,
}

/// Result of GenerateDataKey.
pub struct DataKey {
    /// The data key in plaintext.
    pub plaintext: Vec<u8>,
    /// The data key encrypted under the KMS key.
    pub ciphertext_blob: Vec<u8>,
    /// ARN of the KMS key.
    pub key_arn: String,
}

/// The KMS service state.
pub struct Kms {
    region: String,
    account: String,
    keys: RwLock<HashMap<String, KeyRecord>>,
    aliases: RwLock<BTreeMap<String, String>>,
    /// The shared symmetric-crypto quota.
    pub quota: Quota,
    acct: Arc<Accounting>,
    clock: Clock,
    /// CloudTrail event history of the cryptographic calls.
    pub trail: Arc<crate::trail::Trail>,
}

/// Canonical bytes of a context, used as GCM associated data.
pub fn context_aad(ctx: &EncryptionContext) -> Vec<u8> {
    serde_json::to_vec(ctx).unwrap_or_default()
}

impl Kms {
    /// An empty KMS.
    pub fn new(
        region: &str,
        account: &str,
        quota: u64,
        acct: Arc<Accounting>,
        clock: Clock,
        trail: Arc<crate::trail::Trail>,
    ) -> Self {
        Kms {
            region: region.into(),
            account: account.into(),
            keys: RwLock::new(HashMap::new()),
            aliases: RwLock::new(BTreeMap::new()),
            quota: Quota::new(quota),
            acct,
            clock,
            trail,
        }
    }

    fn key_arn(&self, id: &str) -> String {
        format!("arn:aws:kms:{}:{}:key/{}", self.region, self.account, id)
    }

    /// CreateKey with tags.
    pub fn create_key_tagged(
        &self,
        description: &str,
        tags: Vec<(String, String)>,
        caller: &Caller,
    ) -> KeyMetadata {
        let meta = self.insert_key(description, "CUSTOMER");
        if let Some(rec) = self.keys.write().get_mut(&meta.key_id) {
            rec.tags = tags;
        }
        self.acct
            .kms_call("CreateKey", &meta.arn, caller, false, false);
        meta
    }

    fn insert_key(&self, description: &str, manager: &str) -> KeyMetadata {
        let id = uuid::Uuid::new_v4().to_string();
        let meta = KeyMetadata {
            key_id: id.clone(),
            arn: self.key_arn(&id),
            aws_account_id: self.account.clone(),
            description: description.into(),
            key_state: "Enabled".into(),
            enabled: true,
            key_manager: manager.into(),
            key_usage: "ENCRYPT_DECRYPT".into(),
            key_spec: "SYMMETRIC_DEFAULT".into(),
            creation_date: time::OffsetDateTime::now_utc().unix_timestamp() as f64,
            deletion_date: None,
            pending_deletion_window_in_days: None,
        };
        self.keys.write().insert(
            id,
            KeyRecord {
                meta: meta.clone(),
                material: crypto::random_key(),
                tags: Vec::new(),
            },
        );
        meta
    }

    /// The `aws/s3` managed key, created on first use.
    pub fn s3_managed_key(&self) -> String {
        if let Some(id) = self.aliases.read().get(S3_MANAGED_ALIAS) {
            return self.key_arn(id);
        }
        let mut aliases = self.aliases.write();
        if let Some(id) = aliases.get(S3_MANAGED_ALIAS) {
            return self.key_arn(id);
        }
        let meta = self.insert_key(
            "Default key that protects my S3 objects when no other key is defined",
            "AWS",
        );
        aliases.insert(S3_MANAGED_ALIAS.into(), meta.key_id.clone());
        meta.arn
    }

    /// Resolves a key id, key ARN, alias name or alias ARN to the key id.
    pub fn resolve(&self, key: &str) -> Result<String, KmsError> {
        let not_found = || KmsError::NotFound(format!("Key '{key}' does not exist"));
        let prefix = format!("arn:aws:kms:{}:{}:", self.region, self.account);
        let rest = key.strip_prefix(&prefix).unwrap_or(key);
        if key.starts_with("arn:") && rest.len() == key.len() {
            return Err(not_found());
        }
        let id = if let Some(id) = rest.strip_prefix("key/") {
            id.to_owned()
        } else if rest.starts_with("alias/") {
            if rest == S3_MANAGED_ALIAS {
                self.s3_managed_key();
            }
            self.aliases
                .read()
                .get(rest)
                .cloned()
                .ok_or_else(not_found)?
        } else {
            rest.to_owned()
        };
        if self.keys.read().contains_key(&id) {
            Ok(id)
        } else {
            Err(not_found())
        }
    }

    /// Resolves any key reference to the key ARN.
    pub fn resolve_arn(&self, key: &str) -> Result<String, KmsError> {
        self.resolve(key).map(|id| self.key_arn(&id))
    }

    /// DescribeKey.
    pub fn describe_key(&self, key: &str, caller: &Caller) -> Result<KeyMetadata, KmsError> {
        let id = self.resolve(key)?;
        let meta = self
            .keys
            .read()
            .get(&id)
            .map(|k| k.meta.clone())
            .ok_or(KmsError::Internal)?;
        self.acct
            .kms_call("DescribeKey", &meta.arn, caller, false, false);
        Ok(meta)
    }

    /// ListKeys: (id, arn) pairs.
    pub fn list_keys(&self, caller: &Caller) -> Vec<(String, String)> {
        self.acct.kms_call("ListKeys", "", caller, false, false);
        let mut v: Vec<_> = self
            .keys
            .read()
            .values()
            .map(|k| (k.meta.key_id.clone(), k.meta.arn.clone()))
            .collect();
        v.sort();
        v
    }

    /// CreateAlias.
    pub fn create_alias(&self, alias: &str, target: &str, caller: &Caller) -> Result<(), KmsError> {
        if !alias.starts_with("alias/") || alias.starts_with("alias/aws/") || alias.len() <= 6 {
            return Err(KmsError::Validation(format!(
                "Alias name must begin with 'alias/' and must not begin with 'alias/aws/': {alias}"
            )));
        }
        let id = self.resolve(target)?;
        let mut aliases = self.aliases.write();
        if aliases.contains_key(alias) {
            return Err(KmsError::AlreadyExists(format!(
                "An alias with the name {alias} already exists"
            )));
        }
        aliases.insert(alias.into(), id.clone());
        self.acct
            .kms_call("CreateAlias", &self.key_arn(&id), caller, false, false);
        Ok(())
    }

    /// ListAliases: (alias name, alias ARN, target key id).
    pub fn list_aliases(&self, caller: &Caller) -> Vec<(String, String, String)> {
        self.acct.kms_call("ListAliases", "", caller, false, false);
        self.aliases
            .read()
            .iter()
            .map(|(a, id)| {
                (
                    a.clone(),
                    format!("arn:aws:kms:{}:{}:{}", self.region, self.account, a),
                    id.clone(),
                )
            })
            .collect()
    }

    /// ListResourceTags.
    pub fn tags(&self, key: &str, caller: &Caller) -> Result<Vec<(String, String)>, KmsError> {
        let id = self.resolve(key)?;
        let keys = self.keys.read();
        let rec = keys.get(&id).ok_or(KmsError::Internal)?;
        self.acct
            .kms_call("ListResourceTags", &rec.meta.arn, caller, false, false);
        Ok(rec.tags.clone())
    }

    /// Changes a key's state (not a key pending deletion: that is final here) and
    /// counts the management call `api`. Returns the metadata after the change.
    fn change_key(
        &self,
        key: &str,
        api: &'static str,
        caller: &Caller,
        change: impl FnOnce(&mut KeyMetadata),
    ) -> Result<KeyMetadata, KmsError> {
        let id = self.resolve(key)?;
        let mut keys = self.keys.write();
        let rec = keys.get_mut(&id).ok_or(KmsError::Internal)?;
        if rec.meta.key_state == "PendingDeletion" {
            return Err(KmsError::InvalidState(format!(
                "{} is pending deletion.",
                rec.meta.arn
            )));
        }
        change(&mut rec.meta);
        let meta = rec.meta.clone();
        drop(keys);
        self.acct.kms_call(api, &meta.arn, caller, false, false);
        Ok(meta)
    }

    /// ScheduleKeyDeletion: the key becomes unusable now and is deleted after
    /// `days` (7 to 30, as on AWS). Returns the key's metadata after the change.
    pub fn schedule_deletion(
        &self,
        key: &str,
        days: i64,
        caller: &Caller,
    ) -> Result<KeyMetadata, KmsError> {
        if !(7..=30).contains(&days) {
            return Err(KmsError::Validation(format!(
                "PendingWindowInDays must be between 7 and 30, got {days}"
            )));
        }
        self.change_key(key, "ScheduleKeyDeletion", caller, |m| {
            m.enabled = false;
            m.key_state = "PendingDeletion".into();
            m.pending_deletion_window_in_days = Some(days);
            m.deletion_date =
                Some((time::OffsetDateTime::now_utc().unix_timestamp() + days * 86_400) as f64);
        })
    }

    /// EnableKey / DisableKey.
    pub fn set_enabled(&self, key: &str, enabled: bool, caller: &Caller) -> Result<(), KmsError> {
        let api = if enabled { "EnableKey" } else { "DisableKey" };
        self.change_key(key, api, caller, |m| {
            m.enabled = enabled;
            m.key_state = if enabled { "Enabled" } else { "Disabled" }.into();
        })
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kms() -> (Kms, Caller) {
        let clock = Clock::manual();
        let acct = Arc::new(Accounting::new(clock.clone()));
        (
            Kms::new(
                "eu-central-1",
                "111122223333",
                0,
                acct,
                clock,
                Arc::new(crate::trail::Trail::new(
                    "eu-central-1",
                    "111122223333",
                    Default::default(),
                )),
            ),
            Caller::direct("A"),
        )
    }

    #[test]
    fn every_key_reference_resolves() {
        let (k, c) = kms();
        let meta = k.create_key_tagged("t", Vec::new(), &c);
        k.create_alias("alias/x", &meta.key_id, &c).unwrap();
        for r in [
            meta.key_id.as_str(),
            meta.arn.as_str(),
            "alias/x",
            "arn:aws:kms:eu-central-1:111122223333:alias/x",
        ] {
            assert_eq!(k.resolve_arn(r).unwrap(), meta.arn, "{r}");
        }
        assert!(matches!(
            k.resolve("alias/nope"),
            Err(KmsError::NotFound(_))
        ));
        assert!(matches!(
            k.resolve("arn:aws:kms:us-east-1:1:key/x"),
            Err(KmsError::NotFound(_))
        ));
        assert!(k.create_alias("alias/x", &meta.key_id, &c).is_err());
    }

    #[test]
    fn context_is_bound_and_disabled_keys_refuse() {
        let (k, c) = kms();
        let meta = k.create_key_tagged("t", Vec::new(), &c);
        let ctx: EncryptionContext = [("a".to_string(), "1".to_string())].into();
        let dk = k
            .generate_data_key(&meta.key_id, &ctx, 32, &c, true)
            .unwrap();
        assert_eq!(dk.plaintext.len(), 32);
        let (pt, arn) = k.decrypt(&dk.ciphertext_blob, &ctx, None, &c).unwrap();
        assert_eq!(pt, dk.plaintext);
        assert_eq!(arn, meta.arn);
        assert_eq!(
            k.decrypt(&dk.ciphertext_blob, &EncryptionContext::new(), None, &c),
            Err(KmsError::InvalidCiphertext)
        );
        let other = k.create_key_tagged("o", Vec::new(), &c);
        assert_eq!(
            k.decrypt(&dk.ciphertext_blob, &ctx, Some(&other.key_id), &c),
            Err(KmsError::IncorrectKey)
        );
        k.set_enabled(&meta.key_id, false, &c).unwrap();
        assert!(matches!(
            k.decrypt(&dk.ciphertext_blob, &ctx, None, &c),
            Err(KmsError::Disabled(_))
        ));
        assert!(matches!(
            k.generate_data_key(&meta.key_id, &ctx, 32, &c, true),
            Err(KmsError::Disabled(_))
        ));
    }

    #[test]
    fn a_key_pending_deletion_keeps_its_tags_and_refuses_use() {
        let (k, c) = kms();
        let meta = k.create_key_tagged("t", vec![("sse-bench:run".into(), "r1".into())], &c);
        assert_eq!(
            k.tags(&meta.arn, &c).unwrap(),
            vec![("sse-bench:run".to_owned(), "r1".to_owned())]
        );
        let ctx = EncryptionContext::new();
        let dk = k
            .generate_data_key(&meta.key_id, &ctx, 32, &c, true)
            .unwrap();
        // AWS's window is 7 to 30 days.
        assert!(matches!(
            k.schedule_deletion(&meta.key_id, 6, &c),
            Err(KmsError::Validation(_))
        ));
        let after = k.schedule_deletion(&meta.key_id, 7, &c).unwrap();
        assert_eq!(after.key_state, "PendingDeletion");
        assert_eq!(after.pending_deletion_window_in_days, Some(7));
        let days = (after.deletion_date.unwrap() - after.creation_date) / 86_400.0;
        assert!((6.99..7.01).contains(&days), "{days}");
        for r in [
            k.decrypt(&dk.ciphertext_blob, &ctx, None, &c).map(|_| ()),
            k.generate_data_key(&meta.key_id, &ctx, 32, &c, true)
                .map(|_| ()),
            k.set_enabled(&meta.key_id, true, &c),
            k.schedule_deletion(&meta.key_id, 7, &c).map(|_| ()),
        ] {
            let e = r.unwrap_err();
            assert_eq!(e.type_name(), "KMSInvalidStateException");
            assert_eq!(e.status(), 400);
        }
        assert_eq!(
            k.describe_key(&meta.arn, &c).unwrap().key_state,
            "PendingDeletion"
        );
    }

    #[test]
    fn quota_throttles_crypto_calls_only() {
        let (k, c) = kms();
        k.quota.set_limit(3);
        let meta = k.create_key_tagged("t", Vec::new(), &c);
        let ctx = EncryptionContext::new();
        let results: Vec<_> = (0..5)
            .map(|_| {
                k.generate_data_key(&meta.key_id, &ctx, 32, &c, false)
                    .is_ok()
            })
            .collect();
        assert_eq!(results, [true, true, true, false, false]);
        assert!(k.describe_key(&meta.key_id, &c).is_ok());
        let s = k.acct.snapshot();
        assert_eq!(s.kms.api("GenerateDataKeyWithoutPlaintext"), 3);
        assert_eq!(s.kms.throttled, 2);
    }
}
