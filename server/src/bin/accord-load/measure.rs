//! What every timed workload reports the same way: latency percentiles, and
//! the CPU the relay, this load generator and the machine used meanwhile.

use std::time::Duration;

use serde::Serialize;

use crate::error::LoadError;
use crate::procstat::{self, Monitor, ProcReport};

/// Latency percentiles of one run (nearest rank), ms.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latency {
    /// Median, ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Slowest, ms.
    pub max_ms: f64,
}

impl Latency {
    /// The percentiles of `latencies` (sorted here); all zero when empty.
    pub fn of(latencies: &mut [Duration]) -> Self {
        latencies.sort_unstable();
        Self {
            p50_ms: percentile(latencies, 50.0),
            p95_ms: percentile(latencies, 95.0),
            p99_ms: percentile(latencies, 99.0),
            max_ms: percentile(latencies, 100.0),
        }
    }
}

/// Nearest-rank percentile of sorted values, in ms.
fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

/// How busy the relay, this process and the machine were while a workload ran.
#[derive(Debug, Clone, Serialize)]
pub struct Usage {
    /// The relay process during the run.
    pub relay: Option<ProcReport>,
    /// This load generator during the run (it shares the machine).
    pub load_generator: Option<ProcReport>,
    /// All CPUs of the machine, percent busy (relay, load generator and
    /// anything else running).
    pub machine_busy_percent: f64,
    /// 1-minute load average when the run ended.
    pub load_average: f64,
}

/// Started when a workload starts: watches the relay (when its process id
/// is known), this process and the machine.
pub struct Watch {
    relay: Option<Monitor>,
    this: Monitor,
    /// Busy and total jiffies of all CPUs at the start.
    machine_start: (u64, u64),
    relay_cpu: RelayCpu,
}

impl Watch {
    /// Starts watching.
    pub fn start(relay_pid: Option<u32>) -> Result<Self, LoadError> {
        Ok(Self {
            relay: relay_pid.map(Monitor::start).transpose()?,
            relay_cpu: RelayCpu {
                pid: relay_pid,
                start_ticks: relay_pid.map(procstat::tree_cpu_ticks).transpose()?,
            },
            this: Monitor::start(std::process::id())?,
            machine_start: procstat::machine_jiffies()?,
        })
    }

    /// Stops the process monitors when the workload stops sending; the
    /// relay's CPU goes on counting until [`RelayCpu::secs`] is read.
    pub fn stop(self) -> Result<(Usage, RelayCpu), LoadError> {
        let relay = self.relay.map(Monitor::finish).transpose()?;
        let load_generator = self.this.finish().ok();
        let machine_busy_percent =
            procstat::machine_busy_percent(self.machine_start, procstat::machine_jiffies()?);
        let usage = Usage {
            relay,
            load_generator,
            machine_busy_percent,
            load_average: procstat::load_average(),
        };
        Ok((usage, self.relay_cpu))
    }
}

/// The relay's process-tree CPU time since a [`Watch`] started.
pub struct RelayCpu {
    pid: Option<u32>,
    start_ticks: Option<u64>,
}

impl RelayCpu {
    /// CPU-seconds (user + system) of the relay and its children so far;
    /// `None` without a relay process id.
    pub fn secs(&self) -> Result<Option<f64>, LoadError> {
        let (Some(pid), Some(start)) = (self.pid, self.start_ticks) else {
            return Ok(None);
        };
        let ticks = procstat::tree_cpu_ticks(pid)?.saturating_sub(start);
        Ok(Some(
            ticks as f64 / procstat::clock_ticks_per_second() as f64,
        ))
    }
}

/// `cpu_secs` per delivered item, µs; `None` when nothing was delivered.
pub fn micros_per(cpu_secs: Option<f64>, delivered: u64) -> Option<f64> {
    cpu_secs
        .filter(|_| delivered > 0)
        .map(|secs| secs * 1e6 / delivered as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut latencies: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let latency = Latency::of(&mut latencies);
        assert_eq!(
            (
                latency.p50_ms,
                latency.p95_ms,
                latency.p99_ms,
                latency.max_ms
            ),
            (50.0, 95.0, 99.0, 100.0)
        );
        assert_eq!(Latency::of(&mut []).p99_ms, 0.0);
        assert_eq!(micros_per(Some(2.0), 4), Some(500_000.0));
        assert_eq!(micros_per(Some(2.0), 0), None);
    }
}
