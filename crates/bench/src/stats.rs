//! Latency statistics.

use std::time::Duration;

/// Latencies of one scenario.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    samples: Vec<Duration>,
    pub elapsed: Duration,
}

impl Stats {
    pub fn new(mut samples: Vec<Duration>, elapsed: Duration) -> Stats {
        samples.sort();
        Stats { samples, elapsed }
    }

    pub fn count(&self) -> usize {
        self.samples.len()
    }

    /// The q-quantile (0..=1) in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.samples.is_empty() {
            return 0.0;
        }
        let i = ((self.samples.len() as f64 - 1.0) * q).round() as usize;
        self.samples[i].as_secs_f64() * 1000.0
    }

    pub fn per_second(&self) -> f64 {
        self.count() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// `name  ops/s  p50  p99` as one line.
    pub fn line(&self, name: &str) -> String {
        format!(
            "{name:<44} {:>9.0} ops/s   p50 {:>7.3} ms   p99 {:>7.3} ms   (n={})",
            self.per_second(),
            self.quantile_ms(0.5),
            self.quantile_ms(0.99),
            self.count()
        )
    }
}
