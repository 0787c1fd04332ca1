//! Running scenarios over backends and drivers, and printing the matrix.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sslsocket::SslBackend;

use crate::driver::Driver;
use crate::harness::Ctx;
use crate::outcome::Outcome;
use crate::scenarios::{self, Scenario};

/// One cell of the matrix.
#[derive(Debug, Clone)]
pub struct Cell {
    /// The scenario's name.
    pub scenario: &'static str,
    /// The backend, or `client/server` for a cross pair.
    pub backend: String,
    /// `blocking`, `tokio`, or `memory` for driver-neutral in-memory scenarios.
    pub driver: &'static str,
    /// What happened.
    pub outcome: Outcome,
    /// How long it took.
    pub took: Duration,
}

/// The contexts `scenario` runs in, with their cell labels.
#[must_use]
pub fn contexts(
    scenario: &Scenario,
    backends: &[Arc<dyn SslBackend>],
    drivers: &[Driver],
) -> Vec<(String, &'static str, Ctx)> {
    let mut out = Vec::new();
    let drivers: Vec<(&'static str, Driver)> = if scenario.per_driver {
        drivers.iter().map(|d| (d.name(), d.clone())).collect()
    } else {
        vec![("memory", Driver::Blocking)]
    };
    for (label, driver) in &drivers {
        for client in backends {
            for server in backends {
                let same = Arc::ptr_eq(client, server) || client.name() == server.name();
                if !same && !scenario.cross {
                    continue;
                }
                let name = if same {
                    client.name().to_owned()
                } else {
                    format!("{}/{}", client.name(), server.name())
                };
                out.push((
                    name,
                    *label,
                    Ctx { client: client.clone(), server: server.clone(), driver: driver.clone() },
                ));
            }
        }
    }
    out
}

/// Runs every scenario whose name contains `filter` (all when empty).
#[must_use]
pub fn run(backends: &[Arc<dyn SslBackend>], drivers: &[Driver], filter: &str) -> Vec<Cell> {
    let mut cells = Vec::new();
    for scenario in scenarios::all().iter().filter(|s| s.name.contains(filter)) {
        for (backend, driver, ctx) in contexts(scenario, backends, drivers) {
            let started = Instant::now();
            let outcome = scenarios::run(scenario, &ctx);
            cells.push(Cell {
                scenario: scenario.name,
                backend,
                driver,
                outcome,
                took: started.elapsed(),
            });
        }
    }
    cells
}

/// The columns of a matrix: `backend (driver)` in first-seen order.
fn columns(cells: &[Cell]) -> Vec<(String, &'static str)> {
    let mut cols: Vec<(String, &'static str)> = Vec::new();
    for c in cells {
        if !cols.iter().any(|(b, d)| *b == c.backend && *d == c.driver) {
            cols.push((c.backend.clone(), c.driver));
        }
    }
    cols
}

fn short(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Pass => "pass".into(),
        Outcome::Fail(_) => "FAIL".into(),
        Outcome::Unsupported(f) => format!("unsupported({f})"),
        Outcome::UnsupportedProtocol(p) => format!("unsupported({p})"),
    }
}

/// The matrix as Markdown: one table of scenarios × backend (driver), a second of the client ×
/// server pairs, failures listed below.
#[must_use]
pub fn markdown(cells: &[Cell]) -> String {
    let (pairs, single): (Vec<Cell>, Vec<Cell>) =
        cells.iter().cloned().partition(|c| c.backend.contains('/'));
    let mut out = grid(&single);
    if !pairs.is_empty() {
        out.push_str("\nClient backend / server backend:\n\n");
        out.push_str(&grid(&pairs));
    }
    for c in cells.iter().filter(|c| matches!(c.outcome, Outcome::Fail(_))) {
        let _ = writeln!(
            out,
            "\n- FAIL {} on {} ({}): {}",
            c.scenario,
            c.backend,
            c.driver,
            c.outcome.detail()
        );
    }
    out
}

fn grid(cells: &[Cell]) -> String {
    let cols = columns(cells);
    let mut out = String::from("| scenario |");
    for (b, d) in &cols {
        let _ = write!(out, " {b} ({d}) |");
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(cols.len()));
    out.push('\n');
    let mut names: Vec<&str> = Vec::new();
    for c in cells {
        if !names.contains(&c.scenario) {
            names.push(c.scenario);
        }
    }
    for name in names {
        let _ = write!(out, "| {name} |");
        for (b, d) in &cols {
            let cell =
                cells.iter().find(|c| c.scenario == name && c.backend == *b && c.driver == *d);
            let _ = write!(out, " {} |", cell.map_or(String::new(), |c| short(&c.outcome)));
        }
        out.push('\n');
    }
    out
}

/// The matrix as aligned plain-text tables.
#[must_use]
pub fn table(cells: &[Cell]) -> String {
    let mut out = String::new();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let flush = |rows: &mut Vec<Vec<String>>, out: &mut String| {
        let widths: Vec<usize> = (0..rows.first().map_or(0, Vec::len))
            .map(|i| rows.iter().map(|r| r.get(i).map_or(0, String::len)).max().unwrap_or(0))
            .collect();
        for row in rows.iter() {
            let line: Vec<String> =
                row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
        }
        rows.clear();
    };
    for line in markdown(cells).lines() {
        if line.starts_with("|---") {
            continue;
        } else if line.starts_with('|') {
            rows.push(line.trim_matches('|').split('|').map(|c| c.trim().to_owned()).collect());
        } else {
            flush(&mut rows, &mut out);
            out.push_str(line);
            out.push('\n');
        }
    }
    flush(&mut rows, &mut out);
    out
}

/// The matrix as the JSON document the README describes.
#[must_use]
pub fn json(
    cells: &[Cell],
    backends: &[Arc<dyn SslBackend>],
    platform: &str,
    took: Duration,
) -> serde_json::Value {
    serde_json::json!({
        "platform": platform,
        "seconds": took.as_secs_f64(),
        "backends": backends.iter().map(|b| serde_json::json!({
            "name": b.name(),
            "library_version": b.library_version_string(),
        })).collect::<Vec<_>>(),
        "cells": cells.iter().map(|c| serde_json::json!({
            "scenario": c.scenario,
            "backend": c.backend,
            "driver": c.driver,
            "outcome": c.outcome.label(),
            "detail": c.outcome.detail(),
        })).collect::<Vec<_>>(),
    })
}
