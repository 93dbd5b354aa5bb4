//! CPU time and resident memory of a process, from `/proc`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::oneshot;

/// One reading of a process.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// User plus system CPU time, in clock ticks.
    pub cpu_ticks: u64,
    /// Resident set size, in KiB.
    pub rss_kib: u64,
    /// When it was taken.
    pub at: Instant,
}

/// Reads `/proc/<pid>/stat` (utime + stime) and `/proc/<pid>/status` (`VmRSS`).
pub fn sample(pid: u32) -> std::io::Result<Sample> {
    let at = Instant::now();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name is in parentheses and may contain spaces: split after the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); utime and stime are fields 14 and 15.
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let cpu_ticks = field(11) + field(12);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok(Sample {
        cpu_ticks,
        rss_kib,
        at,
    })
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 if that fails).
pub fn clock_ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

/// CPU and memory of a process over an interval.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ProcReport {
    /// Average CPU use over the interval, in percent of one core.
    pub cpu_percent: f64,
    /// RSS at the start, KiB.
    pub rss_start_kib: u64,
    /// Highest RSS seen (sampled every 200 ms), KiB.
    pub rss_peak_kib: u64,
    /// RSS at the end, KiB.
    pub rss_end_kib: u64,
}

/// Samples a process in the background until [`Monitor::finish`].
pub struct Monitor {
    pid: u32,
    start: Sample,
    peak: Arc<Mutex<u64>>,
    stop: Option<oneshot::Sender<()>>,
}

impl Monitor {
    /// Starts sampling `pid`.
    pub fn start(pid: u32) -> std::io::Result<Self> {
        let start = sample(pid)?;
        let peak = Arc::new(Mutex::new(start.rss_kib));
        let (stop, mut stopped) = oneshot::channel();
        let peak_task = peak.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = tick.tick() => {
                        let Ok(s) = sample(pid) else { break };
                        let mut peak = peak_task.lock().unwrap_or_else(PoisonError::into_inner);
                        *peak = (*peak).max(s.rss_kib);
                    }
                }
            }
        });
        Ok(Self {
            pid,
            start,
            peak,
            stop: Some(stop),
        })
    }

    /// Stops sampling and summarizes.
    pub fn finish(mut self) -> std::io::Result<ProcReport> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let end = sample(self.pid)?;
        let seconds = end.at.duration_since(self.start.at).as_secs_f64().max(1e-6);
        let ticks = end.cpu_ticks.saturating_sub(self.start.cpu_ticks) as f64;
        let peak = *self.peak.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(ProcReport {
            cpu_percent: 100.0 * ticks / clock_ticks_per_second() as f64 / seconds,
            rss_start_kib: self.start.rss_kib,
            rss_peak_kib: peak.max(end.rss_kib),
            rss_end_kib: end.rss_kib,
        })
    }
}

/// Busy and total jiffies of all CPUs together, from the first line of `/proc/stat`.
pub fn machine_jiffies() -> std::io::Result<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let values: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = values.iter().take(8).sum();
    // idle (4th) and iowait (5th) are not busy.
    let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    Ok((total - idle, total))
}

/// Percentage of all CPUs busy between two [`machine_jiffies`] readings.
pub fn machine_busy_percent(start: (u64, u64), end: (u64, u64)) -> f64 {
    let busy = end.0.saturating_sub(start.0) as f64;
    let total = end.1.saturating_sub(start.1).max(1) as f64;
    100.0 * busy / total
}

/// The 1-minute load average.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
}

/// Parses the parent pid and utime + stime (clock ticks) from the text of a
/// `/proc/<pid>/stat` file.
pub fn parse_stat(stat: &str) -> Option<(u32, u64)> {
    // The command name is in parentheses and may contain spaces and ')':
    // split after the last ')'.
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `fields[0]` is field 3 (state): ppid is field 4, utime and stime 14 and 15.
    let ppid = fields.get(1)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((ppid, utime + stime))
}

/// CPU time (utime + stime, clock ticks) of `pid` and every live descendant of
/// it, from one scan of `/proc` (threads are counted within their process).
pub fn tree_cpu_ticks(pid: u32) -> std::io::Result<u64> {
    let mut processes = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        let Ok(entry) = entry else { continue };
        let Some(p) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        // A process may exit between listing and reading: skip it.
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat"))
            && let Some((ppid, ticks)) = parse_stat(&stat)
        {
            processes.push((p, ppid, ticks));
        }
    }
    Ok(sum_tree(pid, &processes))
}

/// Sums the ticks of `root` and its descendants in `(pid, ppid, ticks)` rows.
fn sum_tree(root: u32, processes: &[(u32, u32, u64)]) -> u64 {
    let mut total = 0;
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for &(pid, ppid, ticks) in processes {
            if pid == parent {
                total += ticks;
            }
            if ppid == parent && pid != parent {
                frontier.push(pid);
            }
        }
    }
    total
}

/// Soft and hard limits on open files from the text of `/proc/<pid>/limits`
/// (`None` stands for "unlimited").
pub fn parse_open_files_limit(limits: &str) -> Option<(Option<u64>, Option<u64>)> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut values = line["Max open files".len()..].split_whitespace();
    let parse = |v: &str| (v != "unlimited").then(|| v.parse().ok()).flatten();
    let soft = values.next()?;
    let hard = values.next()?;
    if soft != "unlimited" && soft.parse::<u64>().is_err() {
        return None;
    }
    Some((parse(soft), parse(hard)))
}

/// Makes sure this process (and the relays it starts, which inherit it) may
/// open `needed` files: raises the soft limit up to the hard one with
/// `prlimit` when it is lower. The relays' own limits are not touched.
pub fn ensure_open_files(needed: u64) -> Result<(), String> {
    let limits = std::fs::read_to_string("/proc/self/limits").map_err(|e| e.to_string())?;
    let (soft, hard) = parse_open_files_limit(&limits)
        .ok_or_else(|| "no \"Max open files\" line in /proc/self/limits".to_owned())?;
    if soft.is_none_or(|s| s >= needed) {
        return Ok(());
    }
    if hard.is_some_and(|h| h < needed) {
        return Err(format!(
            "{needed} open files are needed but the hard limit is {}: raise it (ulimit -Hn) first",
            hard.unwrap_or_default()
        ));
    }
    let target = hard.map_or_else(|| needed.to_string(), |h| h.to_string());
    let status = std::process::Command::new("prlimit")
        .arg("--pid")
        .arg(std::process::id().to_string())
        .arg(format!("--nofile={target}:"))
        .status()
        .map_err(|e| format!("running prlimit to raise the open-file limit: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "prlimit could not raise the open-file limit to {target} ({status}); run `ulimit -n {needed}` first"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_stat_reads_ppid_and_cpu_past_a_name_with_parens() {
        let stat = "4242 (node (relay) x) S 17 4242 17 0 -1 4194560 900 0 0 0 250 31 0 0 20 0 11 0";
        assert_eq!(parse_stat(stat), Some((17, 281)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn parse_open_files_limit_reads_soft_and_hard() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max processes             95000                95000                processes\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(
            parse_open_files_limit(limits),
            Some((Some(1024), Some(524_288)))
        );
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_open_files_limit(unlimited), Some((None, None)));
        assert_eq!(parse_open_files_limit("Max processes 1 1"), None);
    }

    #[test]
    fn sum_tree_counts_descendants_only() {
        let rows = [
            (1, 0, 5),
            (10, 1, 100),
            (11, 10, 7),
            (12, 10, 3),
            (20, 1, 50),
        ];
        assert_eq!(sum_tree(10, &rows), 110);
        assert_eq!(sum_tree(11, &rows), 7);
        assert_eq!(sum_tree(99, &rows), 0);
    }
}
