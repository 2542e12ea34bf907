//! sse-bench: what S3 server-side encryption with KMS does to latency, KMS
//! request volume and cost, measured side by side with SSE-S3.

pub mod sim;
pub mod target;
pub mod units;
