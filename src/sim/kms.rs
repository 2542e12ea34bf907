//! The simulated KMS: keys, aliases and real envelope encryption. Ciphertext
//! blobs carry the key id and are sealed with AES-256-GCM using the encryption
//! context as associated data, so a wrong context fails as it does on AWS.

use super::accounting::{Accounting, Caller, Quota};
use super::clock::Clock;
use super::crypto;
use parking_lot::RwLock;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// An encryption context: string pairs bound to a ciphertext.
pub type EncryptionContext = BTreeMap<String, String>;

const BLOB_MAGIC: &[u8; 4] = b"SKB1";
const KEY_ID_LEN: usize = 36;
/// Alias of the AWS managed key S3 uses when `aws:kms` names no key.
pub const S3_MANAGED_ALIAS: &str = "alias/aws/s3";

/// Errors KMS answers with; names and status codes follow AWS-FACTS.md §4.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KmsError {
    /// The key, alias or ARN does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The key is disabled.
    #[error("{0}")]
    Disabled(String),
    /// The ciphertext is invalid or its context does not match.
    #[error("The ciphertext is invalid or the encryption context does not match.")]
    InvalidCiphertext,
    /// Decrypt named a key other than the one in the ciphertext.
    #[error(
        "The key ID in the request does not identify a KMS key that can perform this operation."
    )]
    IncorrectKey,
    /// Over the request quota.
    #[error(
        "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls."
    )]
    Throttling,
    /// Bad request parameters.
    #[error("{0}")]
    Validation(String),
    /// An alias that already exists.
    #[error("{0}")]
    AlreadyExists(String),
    /// An injected internal error.
    #[error("An internal error occurred.")]
    Internal,
    /// The key's state does not allow the operation (e.g. pending deletion).
    #[error("{0}")]
    InvalidState(String),
}

impl KmsError {
    /// The `__type` shape name of the error.
    pub fn type_name(&self) -> &'static str {
        match self {
            KmsError::NotFound(_) => "NotFoundException",
            KmsError::Disabled(_) => "DisabledException",
            KmsError::InvalidCiphertext => "InvalidCiphertextException",
            KmsError::IncorrectKey => "IncorrectKeyException",
            KmsError::Throttling => "ThrottlingException",
            KmsError::Validation(_) => "ValidationException",
            KmsError::AlreadyExists(_) => "AlreadyExistsException",
            KmsError::Internal => "KMSInternalException",
            KmsError::InvalidState(_) => "KMSInvalidStateException",
        }
    }

    /// The HTTP status KMS answers with.
    pub fn status(&self) -> u16 {
        match self {
            KmsError::NotFound(_) => 404,
            KmsError::Disabled(_) | KmsError::AlreadyExists(_) | KmsError::InvalidState(_) => 409,
            KmsError::Internal => 500,
            _ => 400,
        }
    }
}

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
    ) -> Self {
        Kms {
            region: region.into(),
            account: account.into(),
            keys: RwLock::new(HashMap::new()),
            aliases: RwLock::new(BTreeMap::new()),
            quota: Quota::new(quota),
            acct,
            clock,
        }
    }

    fn key_arn(&self, id: &str) -> String {
        format!("arn:aws:kms:{}:{}:key/{}", self.region, self.account, id)
    }

    /// Creates a customer-managed key.
    pub fn create_key(&self, description: &str, caller: &Caller) -> KeyMetadata {
        self.create_key_tagged(description, Vec::new(), caller)
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
        let id = self.resolve(key)?;
        let mut keys = self.keys.write();
        let rec = keys.get_mut(&id).ok_or(KmsError::Internal)?;
        if rec.meta.key_state == "PendingDeletion" {
            return Err(KmsError::InvalidState(format!(
                "{} is pending deletion.",
                rec.meta.arn
            )));
        }
        rec.meta.enabled = false;
        rec.meta.key_state = "PendingDeletion".into();
        rec.meta.pending_deletion_window_in_days = Some(days);
        rec.meta.deletion_date =
            Some((time::OffsetDateTime::now_utc().unix_timestamp() + days * 86_400) as f64);
        let meta = rec.meta.clone();
        drop(keys);
        self.acct
            .kms_call("ScheduleKeyDeletion", &meta.arn, caller, false, false);
        Ok(meta)
    }

    /// EnableKey / DisableKey.
    pub fn set_enabled(&self, key: &str, enabled: bool, caller: &Caller) -> Result<(), KmsError> {
        let id = self.resolve(key)?;
        let mut keys = self.keys.write();
        let rec = keys.get_mut(&id).ok_or(KmsError::Internal)?;
        if rec.meta.key_state == "PendingDeletion" {
            return Err(KmsError::InvalidState(format!(
                "{} is pending deletion.",
                rec.meta.arn
            )));
        }
        rec.meta.enabled = enabled;
        rec.meta.key_state = if enabled { "Enabled" } else { "Disabled" }.into();
        let arn = rec.meta.arn.clone();
        drop(keys);
        self.acct.kms_call(
            if enabled { "EnableKey" } else { "DisableKey" },
            &arn,
            caller,
            false,
            false,
        );
        Ok(())
    }

    /// Checks the quota and records the call; the common gate of every cryptographic API.
    fn crypto_gate(
        &self,
        api: &'static str,
        key_arn: &str,
        caller: &Caller,
    ) -> Result<(), KmsError> {
        let ok = self.quota.try_acquire(self.clock.now().as_secs());
        self.acct.kms_call(api, key_arn, caller, true, !ok);
        if ok {
            Ok(())
        } else {
            Err(KmsError::Throttling)
        }
    }

    fn usable_key(&self, key: &str) -> Result<(String, [u8; 32]), KmsError> {
        let id = self.resolve(key)?;
        let keys = self.keys.read();
        let rec = keys.get(&id).ok_or(KmsError::Internal)?;
        if rec.meta.key_state == "PendingDeletion" {
            return Err(KmsError::InvalidState(format!(
                "{} is pending deletion.",
                rec.meta.arn
            )));
        }
        if !rec.meta.enabled {
            return Err(KmsError::Disabled(format!("{} is disabled.", rec.meta.arn)));
        }
        Ok((id, rec.material))
    }

    fn wrap(
        &self,
        id: &str,
        material: &[u8; 32],
        ctx: &EncryptionContext,
        plaintext: &[u8],
    ) -> Vec<u8> {
        let sealed = crypto::seal(material, &context_aad(ctx), plaintext);
        let mut blob = Vec::with_capacity(4 + KEY_ID_LEN + sealed.len());
        blob.extend_from_slice(BLOB_MAGIC);
        blob.extend_from_slice(id.as_bytes());
        blob.extend_from_slice(&sealed);
        blob
    }

    /// GenerateDataKey (with `plaintext_wanted = false`: GenerateDataKeyWithoutPlaintext).
    pub fn generate_data_key(
        &self,
        key: &str,
        ctx: &EncryptionContext,
        bytes: usize,
        caller: &Caller,
        plaintext_wanted: bool,
    ) -> Result<DataKey, KmsError> {
        let api = if plaintext_wanted {
            "GenerateDataKey"
        } else {
            "GenerateDataKeyWithoutPlaintext"
        };
        let arn = self.resolve_arn(key)?;
        self.crypto_gate(api, &arn, caller)?;
        let (id, material) = self.usable_key(key)?;
        let plaintext = crypto::random_bytes(bytes);
        let ciphertext_blob = self.wrap(&id, &material, ctx, &plaintext);
        Ok(DataKey {
            plaintext: if plaintext_wanted {
                plaintext
            } else {
                Vec::new()
            },
            ciphertext_blob,
            key_arn: arn,
        })
    }

    /// Encrypt.
    pub fn encrypt(
        &self,
        key: &str,
        plaintext: &[u8],
        ctx: &EncryptionContext,
        caller: &Caller,
    ) -> Result<DataKey, KmsError> {
        if plaintext.is_empty() || plaintext.len() > 4096 {
            return Err(KmsError::Validation(
                "Plaintext must be between 1 and 4096 bytes".into(),
            ));
        }
        let arn = self.resolve_arn(key)?;
        self.crypto_gate("Encrypt", &arn, caller)?;
        let (id, material) = self.usable_key(key)?;
        Ok(DataKey {
            plaintext: Vec::new(),
            ciphertext_blob: self.wrap(&id, &material, ctx, plaintext),
            key_arn: arn,
        })
    }

    fn blob_key_id(blob: &[u8]) -> Result<&str, KmsError> {
        if blob.len() < 4 + KEY_ID_LEN || &blob[..4] != BLOB_MAGIC {
            return Err(KmsError::InvalidCiphertext);
        }
        std::str::from_utf8(&blob[4..4 + KEY_ID_LEN]).map_err(|_| KmsError::InvalidCiphertext)
    }

    /// The ARN of the key a ciphertext blob was made with.
    pub fn blob_key_arn(&self, blob: &[u8]) -> Result<String, KmsError> {
        Self::blob_key_id(blob).map(|id| self.key_arn(id))
    }

    /// Decrypt: returns (plaintext, key ARN).
    pub fn decrypt(
        &self,
        blob: &[u8],
        ctx: &EncryptionContext,
        expected_key: Option<&str>,
        caller: &Caller,
    ) -> Result<(Vec<u8>, String), KmsError> {
        self.decrypt_as("Decrypt", blob, ctx, expected_key, caller)
    }

    fn decrypt_as(
        &self,
        api: &'static str,
        blob: &[u8],
        ctx: &EncryptionContext,
        expected_key: Option<&str>,
        caller: &Caller,
    ) -> Result<(Vec<u8>, String), KmsError> {
        let id = Self::blob_key_id(blob)?.to_owned();
        let arn = self.key_arn(&id);
        self.crypto_gate(api, &arn, caller)?;
        if let Some(k) = expected_key
            && self.resolve(k)? != id
        {
            return Err(KmsError::IncorrectKey);
        }
        let (_, material) = self.usable_key(&id).map_err(|e| match e {
            KmsError::NotFound(_) => KmsError::InvalidCiphertext,
            e => e,
        })?;
        let pt = crypto::open(&material, &context_aad(ctx), &blob[4 + KEY_ID_LEN..])
            .map_err(|_| KmsError::InvalidCiphertext)?;
        Ok((pt, arn))
    }

    /// Decrypts without the quota or accounting: S3's internal use where AWS makes no KMS call.
    pub fn decrypt_unmetered(
        &self,
        blob: &[u8],
        ctx: &EncryptionContext,
    ) -> Result<Vec<u8>, KmsError> {
        let id = Self::blob_key_id(blob)?.to_owned();
        let (_, material) = self.usable_key(&id)?;
        crypto::open(&material, &context_aad(ctx), &blob[4 + KEY_ID_LEN..])
            .map_err(|_| KmsError::InvalidCiphertext)
    }

    /// ReEncrypt: decrypts under the source context and encrypts under the destination key.
    pub fn re_encrypt(
        &self,
        blob: &[u8],
        source_ctx: &EncryptionContext,
        dest_key: &str,
        dest_ctx: &EncryptionContext,
        caller: &Caller,
    ) -> Result<(Vec<u8>, String, String), KmsError> {
        let (pt, source_arn) = self.decrypt_as("ReEncrypt", blob, source_ctx, None, caller)?;
        let (id, material) = self.usable_key(dest_key)?;
        Ok((
            self.wrap(&id, &material, dest_ctx, &pt),
            source_arn,
            self.key_arn(&id),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kms() -> (Kms, Caller) {
        let clock = Clock::manual();
        let acct = Arc::new(Accounting::new(clock.clone()));
        (
            Kms::new("eu-central-1", "111122223333", 0, acct, clock),
            Caller::direct("A"),
        )
    }

    #[test]
    fn every_key_reference_resolves() {
        let (k, c) = kms();
        let meta = k.create_key("t", &c);
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
        let meta = k.create_key("t", &c);
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
        let other = k.create_key("o", &c);
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
            assert_eq!(e.status(), 409);
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
        let meta = k.create_key("t", &c);
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
