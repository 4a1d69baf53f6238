//! The allocator's settings for this process, which the server's `main`
//! and the benchmarks (so that their memory figures are the server's) apply
//! first thing.
//!
//! - glibc raises its mmap threshold each time a large block is freed (up
//!   to 32 MiB) and its trim threshold to twice that, so after start-up
//!   (the monitor cache filled, its maps grown) large blocks come from the
//!   heaps and freed memory is kept rather than returned. Fixed thresholds
//!   keep blocks over 256 KiB mapped and let a heap give back more than
//!   128 KiB free at its top.
//! - glibc gives threads up to eight arenas per core, and the blocking
//!   pool's short-lived threads (name lookups) each hold one, with its own
//!   free memory. Four arenas are enough for the runtime's workers and the
//!   SQLite threads not to contend; two slowed the API by a sixth.
//!
//! Together, at 10,000 monitors: 55-58 MiB resident instead of 69 MiB
//! (`certsentry-bench engine`, with SQLite's writer already on its default
//! page cache).

/// Sets glibc's thresholds and arena cap (see the module's doc); nothing
/// on other C libraries.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets tuning parameters of the allocator (under
    // its own lock); blocks already allocated stay valid.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 4);
    }
}
