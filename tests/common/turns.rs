//! Tests that put load on the machine take turns. A test that judges latency or
//! rates runs alone ([`timed`]); tests that only count (operations, KMS calls, files)
//! may share the machine with each other ([`load`]) but never with a timed one. Tests
//! that put no load on it take no turn. Within one test binary only: binaries run one
//! after another.

use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

static LOAD: RwLock<()> = RwLock::const_new(());

/// The machine to itself, for a test that judges latency or rates (sync tests).
pub fn timed() -> RwLockWriteGuard<'static, ()> {
    LOAD.blocking_write()
}

/// The machine to itself, for a test that judges latency or rates (async tests).
pub async fn timed_async() -> RwLockWriteGuard<'static, ()> {
    LOAD.write().await
}

/// A share of the machine, for a load whose assertions are counts (sync tests).
pub fn load() -> RwLockReadGuard<'static, ()> {
    LOAD.blocking_read()
}

/// A share of the machine, for a load whose assertions are counts (async tests).
pub async fn load_async() -> RwLockReadGuard<'static, ()> {
    LOAD.read().await
}
