//! TCP monitors: can we open a connection to `target:port`?

use std::time::Instant;

use serde::Serialize;

use crate::net::{connect, resolve};
use crate::{Phases, ProbeConfig, millis};

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TcpObservation {
    pub ok: bool,
    pub latency_ms: u32,
    pub error: Option<String>,
    pub phases: Phases,
}

pub async fn probe(host: &str, port: u16, config: &ProbeConfig) -> TcpObservation {
    let started = Instant::now();
    let mut phases = Phases::default();
    let outcome = async {
        let addresses = resolve(host, port, config, &mut phases).await?;
        connect(&addresses, config, &mut phases).await.map(drop)
    }
    .await;
    TcpObservation {
        ok: outcome.is_ok(),
        latency_ms: millis(started.elapsed()),
        error: outcome.err(),
        phases,
    }
}
