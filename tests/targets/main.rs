//! Real targets, with stand-ins only where AWS cannot exist here: `sse-bench serve` as
//! an S3-compatible endpoint and posing as AWS (CloudTrail included), a CloudWatch
//! stand-in speaking its wire format, moto's server, and sharded runs merged. One
//! test binary: the SDK is compiled and linked once for all of them.

#[path = "../common/mod.rs"]
mod common;

mod aws_target;
mod cloudwatch;
mod distributed;
mod endpoint_guards;
mod endpoint_target;
mod moto_target;
