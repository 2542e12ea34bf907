//! The cryptographic operations: GenerateDataKey, Encrypt, Decrypt and ReEncrypt,
//! each through the shared quota and counted, with real AES-256-GCM blobs bound to
//! the encryption context.

use super::*;

impl Kms {
    /// Checks the quota and records the call; the common gate of every cryptographic API.
    fn crypto_gate(
        &self,
        api: &'static str,
        key_arn: &str,
        caller: &Caller,
        context: &EncryptionContext,
    ) -> Result<(), KmsError> {
        let ok = self.quota.try_acquire(self.clock.now().as_secs());
        self.acct.kms_call(api, key_arn, caller, true, !ok);
        self.trail.record(crate::trail::Call {
            api,
            key_arn,
            access_key: &caller.requester,
            via_s3: caller.via_s3,
            context,
            throttled: !ok,
        });
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
        self.crypto_gate(api, &arn, caller, ctx)?;
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
        self.crypto_gate("Encrypt", &arn, caller, ctx)?;
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
        self.crypto_gate(api, &arn, caller, ctx)?;
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
