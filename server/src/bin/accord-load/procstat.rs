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
