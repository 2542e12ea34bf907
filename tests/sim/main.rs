//! The simulator through the real SDK clients and foreign tools' requests: one test
//! binary for every protocol test (one link instead of five).

#[path = "../common/mod.rs"]
mod common;

mod counts;
mod kms;
mod s3;
mod s3_foreign;
mod s3_objects;
