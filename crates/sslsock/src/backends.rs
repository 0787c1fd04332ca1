//! `backends`: each compiled backend, usable or why not, versions, protocols, features.

use std::io::{self, Write};

use serde::Serialize;
use sslsocket::{Role, SslBackend, SslProtocol};

use crate::cli::BackendsArgs;
use crate::report::{colour_enabled, Cell, Table};

/// One backend, as `backends --json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct BackendReport {
    pub name: String,
    pub usable: bool,
    pub reason: Option<String>,
    pub library_version: String,
    pub library_build_version: String,
    pub library_version_number: u64,
    /// What a client can be configured with (`supported_protocols_for(Client)`).
    pub protocols: Vec<String>,
    /// What a server can be configured with (`supported_protocols_for(Server)`), in the same
    /// vocabulary.
    pub server_protocols: Vec<String>,
    pub features: Vec<String>,
}

impl BackendReport {
    /// What `backend` says about itself.
    #[must_use]
    pub fn of(backend: &dyn SslBackend) -> BackendReport {
        let reason = backend.availability().err();
        BackendReport {
            name: backend.name().to_owned(),
            usable: reason.is_none(),
            reason,
            library_version: backend.library_version_string(),
            library_build_version: backend.library_build_version_string(),
            library_version_number: backend.library_version_number(),
            protocols: names(&backend.supported_protocols_for(Role::Client)),
            server_protocols: names(&backend.supported_protocols_for(Role::Server)),
            features: backend.features().iter().map(|f| f.name().to_owned()).collect(),
        }
    }
}

fn names(protocols: &[SslProtocol]) -> Vec<String> {
    protocols.iter().map(|p| p.name().to_owned()).collect()
}

/// Runs `backends`; returns the exit status (0; 1 when no backend is compiled in).
#[must_use]
pub fn run(args: &BackendsArgs) -> u8 {
    let reports: Vec<BackendReport> = sslsocket::registry::compiled_backends()
        .iter()
        .map(|b| BackendReport::of(b.as_ref()))
        .collect();
    let text = if args.json {
        // Plain strings, numbers and vectors always serialise.
        serde_json::to_string_pretty(&reports).unwrap_or_else(|e| format!("error: {e}")) + "\n"
    } else {
        human(&reports, colour_enabled())
    };
    let mut out = io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    u8::from(reports.is_empty())
}

fn human(reports: &[BackendReport], colour: bool) -> String {
    let mut table =
        Table::new(&["backend", "usable", "library (run time)", "built with", "number"]);
    for r in reports {
        let usable = match &r.reason {
            None => Cell::good("yes"),
            Some(why) => Cell::bad(format!("no: {why}")),
        };
        table.row(vec![
            Cell::plain(&r.name),
            usable,
            Cell::plain(&r.library_version),
            Cell::plain(&r.library_build_version),
            Cell::plain(r.library_version_number.to_string()),
        ]);
    }
    let mut text = table.render(colour);
    for r in reports {
        text.push_str(&format!(
            "\n{}\n  protocols: {}\n  server protocols: {}\n  features:  {}\n",
            r.name,
            r.protocols.join(", "),
            r.server_protocols.join(", "),
            r.features.join(", ")
        ));
    }
    text
}
