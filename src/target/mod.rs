//! Targets: the embedded simulator, an S3-compatible endpoint, or AWS.

pub mod clients;

pub use clients::{ClientOptions, RetryPolicy, StaticCredentials, kms_client, s3_client};
