//! Buckets, objects and multipart uploads. Object bytes are held only as
//! ciphertext, in memory or as files under a data directory.

use crate::sse::{BucketEncryption, Protection, SseInfo};
use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use time::OffsetDateTime;

/// Stored ciphertext of one part.
#[derive(Debug)]
pub enum Blob {
    /// In memory.
    Mem(Bytes),
    /// In a file of the data directory.
    File(PathBuf),
}

impl Blob {
    /// Reads the ciphertext.
    pub async fn read(&self) -> std::io::Result<Bytes> {
        match self {
            Blob::Mem(b) => Ok(b.clone()),
            Blob::File(p) => tokio::fs::read(p).await.map(Bytes::from),
        }
    }
}

impl Drop for Blob {
    fn drop(&mut self) {
        if let Blob::File(p) = self {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// One encrypted part of an object (a simple PUT is one part).
#[derive(Debug)]
pub struct Part {
    /// Plaintext length.
    pub plain_len: u64,
    /// Ciphertext.
    pub blob: Blob,
    /// Part ETag (quoted hex).
    pub etag: String,
    /// Checksums of this part (the client's, or the default CRC64NVME).
    pub checksum: s3s::dto::Checksum,
    /// Whether the client sent the checksum (an additional checksum, not S3's default).
    pub client_checksum: bool,
    /// When the part was uploaded.
    pub last_modified: OffsetDateTime,
}

/// A stored object.
#[derive(Debug)]
pub struct Object {
    /// Plaintext size.
    pub size: u64,
    /// ETag, without quotes.
    pub etag: String,
    /// Time of the write.
    pub last_modified: OffsetDateTime,
    /// Content-Type given at upload.
    pub content_type: Option<String>,
    /// User metadata.
    pub metadata: Option<s3s::dto::Metadata>,
    /// Whole-object checksums.
    pub checksum: s3s::dto::Checksum,
    /// Encryption settings as reported on responses.
    pub sse: SseInfo,
    /// How the data keys are protected.
    pub protection: Protection,
    /// Encrypted parts in order.
    pub parts: Vec<Part>,
    /// Made by CompleteMultipartUpload (even of one part).
    pub multipart: bool,
    /// Test switch: serve a flipped byte and no checksum, as silent corruption would.
    pub corrupt: AtomicBool,
}

impl Object {
    /// PartsCount as S3 reports it: for objects uploaded in parts only.
    pub fn parts_count(&self) -> Option<i32> {
        self.multipart.then_some(self.parts.len() as i32)
    }
}

/// A multipart upload in progress.
pub struct Upload {
    /// Object key.
    pub key: String,
    /// Encryption settings.
    pub sse: SseInfo,
    /// Key protection chosen at creation.
    pub protection: Protection,
    /// Content-Type.
    pub content_type: Option<String>,
    /// User metadata.
    pub metadata: Option<s3s::dto::Metadata>,
    /// The checksum algorithm named at creation.
    pub checksum_algorithm: Option<s3s::dto::ChecksumAlgorithm>,
    /// Parts uploaded so far.
    pub parts: BTreeMap<i32, Part>,
}

/// A bucket.
pub struct Bucket {
    /// Name.
    pub name: String,
    /// Creation time.
    pub created: OffsetDateTime,
    /// Default encryption.
    pub encryption: RwLock<BucketEncryption>,
    /// Tags, if set.
    pub tags: RwLock<Option<Vec<(String, String)>>>,
    /// Lifecycle configuration as the client sent it.
    pub lifecycle: RwLock<Option<s3s::dto::BucketLifecycleConfiguration>>,
    /// Objects by key.
    pub objects: RwLock<BTreeMap<String, Arc<Object>>>,
    /// Multipart uploads by id.
    pub uploads: Mutex<HashMap<String, Upload>>,
    /// PutBucketVersioning suspended versioning (objects keep the `null` version).
    pub versioning_suspended: AtomicBool,
}

/// All buckets plus where blobs go.
pub struct Store {
    /// Buckets by name.
    pub buckets: RwLock<BTreeMap<String, Arc<Bucket>>>,
    data_dir: Option<PathBuf>,
    next_file: AtomicU64,
}

impl Store {
    /// An empty store; blobs in memory unless `data_dir` is set.
    pub fn new(data_dir: Option<PathBuf>) -> std::io::Result<Self> {
        if let Some(d) = &data_dir {
            std::fs::create_dir_all(d)?;
        }
        Ok(Store {
            buckets: RwLock::new(BTreeMap::new()),
            data_dir,
            next_file: AtomicU64::new(0),
        })
    }

    /// A bucket by name.
    pub fn bucket(&self, name: &str) -> Option<Arc<Bucket>> {
        self.buckets.read().get(name).cloned()
    }

    /// Keeps ciphertext in memory or writes it to a new file.
    pub async fn make_blob(&self, ciphertext: Vec<u8>) -> std::io::Result<Blob> {
        match &self.data_dir {
            None => Ok(Blob::Mem(Bytes::from(ciphertext))),
            Some(d) => {
                let n = self.next_file.fetch_add(1, Ordering::Relaxed);
                let path = d.join(format!("{}-{n}.blob", std::process::id()));
                tokio::fs::write(&path, ciphertext).await?;
                Ok(Blob::File(path))
            }
        }
    }

    /// Marks an object so GETs return corrupted bytes (test switch); false if absent.
    pub fn corrupt(&self, bucket: &str, key: &str) -> bool {
        match self
            .bucket(bucket)
            .and_then(|b| b.objects.read().get(key).cloned())
        {
            Some(o) => {
                o.corrupt.store(true, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }
}
