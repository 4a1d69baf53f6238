//! CPU time and memory of this process, its threads, or a child, read from
//! `/proc`: what the benchmarks' CPU-per-operation and RSS figures are made
//! of. A reading that cannot be made counts as zero (or `None`), so a
//! benchmark still prints its rates.

/// User+system CPU seconds of `process` (`"self"` or a pid).
pub(crate) fn cpu_seconds_of(process: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{process}/stat")).unwrap_or_default();
    stat_cpu_seconds(stat.rsplit_once(')').map_or("", |(_, rest)| rest))
}

/// User+system CPU seconds this process has used.
pub(crate) fn cpu_seconds() -> f64 {
    cpu_seconds_of("self")
}

/// User+system CPU seconds of this process's threads named `name`.
pub(crate) fn threads_cpu_seconds(name: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("stat")).ok())
        .filter_map(|stat| {
            let (head, rest) = stat.rsplit_once(')')?;
            let comm = head.split_once('(')?.1;
            (comm == name).then(|| stat_cpu_seconds(rest))
        })
        .sum()
}

/// User+system CPU seconds from the fields after the command name of a
/// `/proc/…/stat` line (fields 14 and 15; 100 ticks a second on Linux).
fn stat_cpu_seconds(after_name: &str) -> f64 {
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Time the calling thread has spent on a CPU, in nanoseconds, from the
/// scheduler's own accounting (`/proc/thread-self/schedstat`): exact, where
/// the `stat` ticks above are a hundredth of a second. `None` when the
/// kernel does not expose it.
pub(crate) fn thread_on_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A `kB` field of `/proc/<process>/status` (`VmRSS`, `VmHWM`).
pub(crate) fn status_kib_of(process: &str, field: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{process}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A `kB` field of this process's `/proc/self/status`.
pub(crate) fn status_kib(field: &str) -> Option<u64> {
    status_kib_of("self", field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_resident_size_and_a_named_main_thread() {
        assert!(status_kib("VmRSS").is_some_and(|kib| kib > 0));
        assert_eq!(status_kib("NoSuchField"), None);
        // Busy until the 100 Hz tick has counted some CPU (or, if the
        // reading never moves, give up after a while and fail below).
        let started = std::time::Instant::now();
        while cpu_seconds() == 0.0 && started.elapsed() < std::time::Duration::from_secs(10) {
            std::hint::black_box(started.elapsed());
        }
        assert!(cpu_seconds() > 0.0);
        assert!(cpu_seconds_of(&std::process::id().to_string()) > 0.0);
        assert_eq!(threads_cpu_seconds("no-such-thread"), 0.0);
        let before = thread_on_cpu_ns().expect("schedstat");
        let busy = std::time::Instant::now();
        while busy.elapsed() < std::time::Duration::from_millis(20) {
            std::hint::black_box(busy.elapsed());
        }
        assert!(thread_on_cpu_ns().expect("schedstat") > before);
    }
}
