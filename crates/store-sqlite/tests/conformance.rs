//! The store conformance suite on a fresh SQLite file per test.

use std::sync::Arc;

use certsentry_store::Store;
use certsentry_store_sqlite::SqliteStore;

async fn fresh_store() -> Option<Arc<dyn Store>> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("test.db")).await.unwrap();
    // Keep the directory for the life of the test process.
    std::mem::forget(dir);
    Some(Arc::new(store))
}

certsentry_store::conformance_tests!(fresh_store);
