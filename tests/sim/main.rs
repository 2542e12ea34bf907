//! The simulator as its clients see it: the protocol through the real SDK clients,
//! exact KMS counts, foreign tools' requests, hostile clients and boto3. One test
//! binary: the SDK is compiled and linked once for all of them.

#[path = "../common/mod.rs"]
mod common;

mod counts;
mod interop_boto3;
mod kms;
mod s3;
mod s3_foreign;
mod s3_objects;
mod serve_hostile;
