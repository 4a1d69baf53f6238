//! CT's metrics as prometheus-client collectors. The sources are known only
//! at start (one per log in the list, plus certstream), so each family is
//! encoded from the live stats at scrape time rather than registered per
//! source. The composition root registers them under `certsentry_ct_`;
//! certwatch mode registers the sources' under the same names.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::pipeline::Pipeline;
use crate::sources::{CtRuntime, SourceStats, Sources};

/// One series per source, labelled `source` and `kind`.
#[derive(Debug)]
pub struct SourcesCollector(pub Arc<Sources>);

/// The pipeline's watch list size and decided findings.
pub struct PipelineCollector(pub Arc<Pipeline>);

impl std::fmt::Debug for PipelineCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PipelineCollector")
    }
}

fn load(a: &AtomicU64) -> u64 {
    a.load(Ordering::Relaxed)
}

/// How one per-source family reads a source's stats.
enum Reading {
    Counter(fn(&SourceStats) -> u64),
    IntGauge(fn(&SourceStats) -> i64),
    Gauge(fn(&SourceStats) -> f64),
}

const SOURCE_FAMILIES: [(&str, &str, Reading); 6] = [
    (
        "source_connected",
        "Whether the source is connected (1) or not (0).",
        Reading::IntGauge(|s| i64::from(s.connected.load(Ordering::Relaxed))),
    ),
    (
        "entries",
        "CT entries read.",
        Reading::Counter(|s| load(&s.entries)),
    ),
    (
        "malformed_entries",
        "Entries that did not parse (skipped).",
        Reading::Counter(|s| load(&s.malformed)),
    ),
    (
        "entries_per_second",
        "Entries read per second, recently.",
        Reading::Gauge(SourceStats::entries_per_second),
    ),
    (
        "backlog",
        "Entries not yet read: tree size minus position, or queued messages.",
        Reading::IntGauge(|s| load(&s.backlog) as i64),
    ),
    (
        "last_entry_timestamp_seconds",
        "When the source last delivered an entry.",
        Reading::Gauge(|s| s.last_entry_at.load(Ordering::Relaxed) as f64 / 1000.0),
    ),
];

impl Collector for SourcesCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let sources = self.0.all();
        for (name, help, reading) in &SOURCE_FAMILIES {
            let metric_type = match reading {
                Reading::Counter(_) => ConstCounter::new(0u64).metric_type(),
                Reading::IntGauge(_) | Reading::Gauge(_) => ConstGauge::new(0i64).metric_type(),
            };
            let mut family = encoder.encode_descriptor(name, help, None, metric_type)?;
            for source in &sources {
                let labels = [
                    ("source", source.name.clone()),
                    ("kind", source.kind.to_string()),
                ];
                let series = family.encode_family(&labels)?;
                let stats = &source.stats;
                match reading {
                    Reading::Counter(read) => ConstCounter::new(read(stats)).encode(series)?,
                    Reading::IntGauge(read) => ConstGauge::new(read(stats)).encode(series)?,
                    Reading::Gauge(read) => ConstGauge::new(read(stats)).encode(series)?,
                }
            }
        }
        Ok(())
    }
}

impl Collector for PipelineCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = &self.0.stats;
        let gauge = ConstGauge::new(load(&stats.watch_entries) as i64);
        gauge.encode(encoder.encode_descriptor(
            "watch_entries",
            "Distinct watched names.",
            None,
            gauge.metric_type(),
        )?)?;
        let mut family = encoder.encode_descriptor(
            "findings",
            "Matched issuances decided, by state.",
            None,
            ConstCounter::new(0u64).metric_type(),
        )?;
        for (state, count) in [
            ("known", &stats.findings_known),
            ("suspicious", &stats.findings_suspicious),
        ] {
            ConstCounter::new(load(count)).encode(family.encode_family(&[("state", state)])?)?;
        }
        Ok(())
    }
}

impl CtRuntime {
    /// Registers the sources' and the pipeline's families in `registry`
    /// (the composition root passes its `ct` sub-registry).
    pub fn register_metrics(&self, registry: &mut Registry) {
        registry.register_collector(Box::new(SourcesCollector(self.sources.clone())));
        registry.register_collector(Box::new(PipelineCollector(self.pipeline.clone())));
    }
}
