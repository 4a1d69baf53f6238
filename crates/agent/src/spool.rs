//! Results on their way to the server, kept on disk until it has them.
//!
//! Checks push their uploads here; [`Spool::flush`] writes what is pending
//! as one batch file (written whole, then renamed into place, so a crash
//! leaves no half file), and the uploader posts the files oldest first and
//! removes each once the server answered. An agent cut off from the
//! server keeps checking: the files pile up, bounded by age and total
//! size (the oldest go first, counted and logged), and are uploaded when
//! the server is back. The keys inside make a repeated upload harmless.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use certsentry_domain::time::now_ms;

use crate::protocol::{MAX_BATCH, Upload};

/// How much the spool keeps while the server is away.
#[derive(Debug, Clone)]
pub struct SpoolLimits {
    pub max_bytes: u64,
    pub max_age: Duration,
}

impl Default for SpoolLimits {
    /// A day of results, and at most 100 MB of them.
    fn default() -> Self {
        Self {
            max_bytes: 100 * 1024 * 1024,
            max_age: Duration::from_secs(24 * 3600),
        }
    }
}

pub struct Spool {
    dir: PathBuf,
    limits: SpoolLimits,
    pending: Mutex<Vec<Upload>>,
    instance: u32,
    sequence: AtomicU64,
    /// Batch files dropped by the limits since the start.
    pub dropped_batches: AtomicU64,
}

/// A batch file's name: when it was written, this run's instance and a
/// sequence number, so that names sort oldest first and two runs never
/// write the same name.
fn batch_name(at: i64, instance: u32, sequence: u64) -> String {
    format!("{at:016}-{instance:08x}-{sequence:08}.json")
}

/// When a batch file was written, from its name.
fn written_at(path: &Path) -> Option<i64> {
    path.file_name()?.to_str()?.split('-').next()?.parse().ok()
}

impl Spool {
    /// Opens (or creates) the spool in `dir`; batches left by an earlier
    /// run are uploaded first.
    pub fn open(dir: &Path, limits: SpoolLimits) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            limits,
            pending: Mutex::new(Vec::new()),
            instance: rand::random(),
            sequence: AtomicU64::new(0),
            dropped_batches: AtomicU64::new(0),
        })
    }

    pub fn push(&self, upload: Upload) {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(upload);
    }

    /// Writes what is pending as batch files of at most [`MAX_BATCH`]
    /// results, then applies the limits. Returns how many results it wrote.
    pub fn flush(&self) -> std::io::Result<usize> {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        let mut written = 0;
        for (i, chunk) in pending.chunks(MAX_BATCH).enumerate() {
            if let Err(e) = self.write_batch(chunk) {
                // Keep what could not be written for the next flush.
                let mut back = self.pending.lock().unwrap_or_else(|p| p.into_inner());
                let unwritten = pending[i * MAX_BATCH..].iter().cloned();
                back.splice(0..0, unwritten);
                return Err(e);
            }
            written += chunk.len();
        }
        self.enforce_limits()?;
        Ok(written)
    }

    fn write_batch(&self, uploads: &[Upload]) -> std::io::Result<()> {
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
        let name = batch_name(now_ms(), self.instance, sequence);
        let staged = self.dir.join(format!("{name}.tmp"));
        let mut file = std::fs::File::create(&staged)?;
        file.write_all(&serde_json::to_vec(uploads).map_err(std::io::Error::other)?)?;
        file.sync_all()?;
        std::fs::rename(&staged, self.dir.join(name))
    }

    /// The batch files, oldest first.
    pub fn batches(&self) -> std::io::Result<Vec<PathBuf>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        Ok(files)
    }

    /// A batch's results; a file that does not parse is reported, so the
    /// uploader can set it aside rather than retry it forever.
    pub fn read(path: &Path) -> std::io::Result<Vec<Upload>> {
        let bytes = std::fs::read(path)?;
        serde_json::from_slice(&bytes).map_err(std::io::Error::other)
    }

    pub fn remove(path: &Path) -> std::io::Result<()> {
        std::fs::remove_file(path)
    }

    /// Drops the oldest batches beyond the age and size limits.
    fn enforce_limits(&self) -> std::io::Result<()> {
        let files = self.batches()?;
        let mut sizes: Vec<(PathBuf, u64)> = files
            .into_iter()
            .map(|path| {
                let size = std::fs::metadata(&path).map_or(0, |m| m.len());
                (path, size)
            })
            .collect();
        let oldest_kept = now_ms() - self.limits.max_age.as_millis() as i64;
        let mut total: u64 = sizes.iter().map(|(_, size)| size).sum();
        let mut dropped = 0;
        for (path, size) in sizes.drain(..) {
            let too_old = written_at(&path).is_some_and(|at| at < oldest_kept);
            if !too_old && total <= self.limits.max_bytes {
                break;
            }
            std::fs::remove_file(&path)?;
            total -= size;
            dropped += 1;
        }
        if dropped > 0 {
            self.dropped_batches.fetch_add(dropped, Ordering::Relaxed);
            tracing::warn!(
                batches = dropped,
                "the offline buffer is full or too old: the oldest results were dropped"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Observation, TcpSeen};
    use certsentry_probes::tcp::TcpObservation;

    fn upload(key: &str) -> Upload {
        Upload {
            key: key.into(),
            monitor_id: "c1".into(),
            checked_at: now_ms(),
            observation: Observation::Tcp(TcpSeen {
                port: 22,
                seen: TcpObservation {
                    ok: true,
                    latency_ms: 1,
                    error: None,
                    phases: Default::default(),
                },
            }),
        }
    }

    #[test]
    fn batches_are_kept_in_order_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), SpoolLimits::default()).unwrap();
        spool.push(upload("a"));
        spool.push(upload("b"));
        assert_eq!(spool.flush().unwrap(), 2);
        spool.push(upload("c"));
        spool.flush().unwrap();
        assert_eq!(spool.flush().unwrap(), 0, "nothing pending");
        let batches = spool.batches().unwrap();
        assert_eq!(batches.len(), 2);
        let first = Spool::read(&batches[0]).unwrap();
        assert_eq!(
            first.iter().map(|u| u.key.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );

        // Reopened (a restarted agent): the same files, and a size limit
        // that holds one batch drops the oldest.
        let small = SpoolLimits {
            max_bytes: std::fs::metadata(&batches[1]).unwrap().len() + 10,
            max_age: Duration::from_secs(3600),
        };
        let reopened = Spool::open(dir.path(), small).unwrap();
        reopened.flush().unwrap();
        let left = reopened.batches().unwrap();
        assert_eq!(left, vec![batches[1].clone()], "the oldest went first");
        assert_eq!(reopened.dropped_batches.load(Ordering::Relaxed), 1);
    }
}
