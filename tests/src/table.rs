//! A results table (backend × peer × case → outcome), printed at the end of a test and then
//! checked: every cell passes, carries a capability-backed reason, or names the outside program
//! that is not installed (see [`crate::peers`] for what a missing program means).

use std::fmt::Write as _;

use sslsocket::{Feature, SslBackend, SslProtocol};

use crate::peers::{self, Missing};

/// The outcome of one cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// It worked; the detail says what was checked (protocol, ALPN, error kinds…).
    Pass(String),
    /// The backend's capabilities say it cannot do this, and sslsocket said so with a typed
    /// error (checked by the case); the reason names the capability.
    NotApplicable(String),
    /// The outside program the case needs is not installed: nothing was run.
    PeerMissing(Missing),
    /// It did not work.
    Fail(String),
}

impl Cell {
    /// `NotApplicable` for a missing feature, after the case checked the typed refusal.
    #[must_use]
    pub fn missing(backend: &dyn SslBackend, feature: Feature, refusal: &str) -> Cell {
        Cell::NotApplicable(format!("{} lacks {feature}; {refusal}", backend.name()))
    }

    /// `NotApplicable` for a protocol a role of the backend does not offer.
    #[must_use]
    pub fn missing_protocol(backend: &dyn SslBackend, protocol: SslProtocol, what: &str) -> Cell {
        Cell::NotApplicable(format!("{} has no {protocol:?} {what}", backend.name()))
    }

    fn label(&self) -> String {
        match self {
            Cell::Pass(detail) if detail.is_empty() => "pass".to_owned(),
            Cell::Pass(detail) => format!("pass ({detail})"),
            Cell::NotApplicable(reason) => format!("n/a: {reason}"),
            Cell::PeerMissing(missing) => format!("n/a: {missing}"),
            Cell::Fail(why) => format!("FAIL: {why}"),
        }
    }
}

/// One row: who, against whom, what.
#[derive(Debug, Clone)]
pub struct Row {
    /// The backend under test.
    pub backend: String,
    /// The other side.
    pub peer: String,
    /// The case.
    pub case: String,
    /// What happened.
    pub cell: Cell,
}

/// A list of rows.
#[derive(Debug, Default)]
pub struct Table {
    /// The rows, in the order run.
    pub rows: Vec<Row>,
}

impl Table {
    /// Adds a row.
    pub fn push(&mut self, backend: &str, peer: &str, case: &str, cell: Cell) {
        self.rows.push(Row {
            backend: backend.to_owned(),
            peer: peer.to_owned(),
            case: case.to_owned(),
            cell,
        });
    }

    /// Runs one cell: `programs` are the outside programs it needs; the first missing one makes
    /// the cell [`Cell::PeerMissing`] without running `body`, and an `Err` from `body` is a
    /// [`Cell::Fail`].
    pub fn run(
        &mut self,
        (backend, peer, case): (&str, &str, &str),
        programs: &[&str],
        body: impl FnOnce() -> Result<Cell, String>,
    ) {
        let cell = match peers::first_missing(programs) {
            Some(missing) => Cell::PeerMissing(missing),
            None => body().unwrap_or_else(Cell::Fail),
        };
        self.push(backend, peer, case, cell);
    }

    /// The table as aligned text, one row per line, with a summary.
    #[must_use]
    pub fn render(&self, title: &str) -> String {
        let width = |f: fn(&Row) -> &str| self.rows.iter().map(|r| f(r).len()).max().unwrap_or(0);
        let (wb, wp, wc) =
            (width(|r| &r.backend).max(7), width(|r| &r.peer).max(4), width(|r| &r.case).max(4));
        let mut out = format!("\n== {title}\n");
        let _ = writeln!(out, "{:<wb$} | {:<wp$} | {:<wc$} | result", "backend", "peer", "case");
        let _ = writeln!(out, "{}", "-".repeat(wb + wp + wc + 40));
        for r in &self.rows {
            let label = r.cell.label();
            // A failure's details can be long: first line in the table, the rest below.
            let first = label.lines().next().unwrap_or_default();
            let _ =
                writeln!(out, "{:<wb$} | {:<wp$} | {:<wc$} | {first}", r.backend, r.peer, r.case);
        }
        for r in self.rows.iter().filter(|r| matches!(r.cell, Cell::Fail(_))) {
            let _ = writeln!(out, "\n{} / {} / {}:\n{}", r.backend, r.peer, r.case, r.cell.label());
        }
        out
    }

    /// One line of counts: `NAME: 90 pass, 0 fail, 9 n/a (engine capability), 30 n/a (peer
    /// missing: gnutls-serv, gnutls-cli)`.
    #[must_use]
    pub fn summary(&self, name: &str) -> String {
        let count = |f: fn(&Cell) -> bool| self.rows.iter().filter(|r| f(&r.cell)).count();
        let missing = self.missing();
        let programs = if missing.is_empty() {
            String::new()
        } else {
            format!(": {}", peers::program_list(&missing))
        };
        format!(
            "{name}: {} pass, {} fail, {} n/a (engine capability), {} n/a (peer missing{programs})",
            count(|c| matches!(c, Cell::Pass(_))),
            count(|c| matches!(c, Cell::Fail(_))),
            count(|c| matches!(c, Cell::NotApplicable(_))),
            missing.len(),
        )
    }

    /// The programs of the [`Cell::PeerMissing`] rows, one per row.
    #[must_use]
    pub fn missing(&self) -> Vec<Missing> {
        self.rows
            .iter()
            .filter_map(|r| match &r.cell {
                Cell::PeerMissing(missing) => Some(missing.clone()),
                _ => None,
            })
            .collect()
    }

    /// Prints the table and its summary, then checks it.
    ///
    /// # Panics
    /// When the table is empty (nothing was tested), when a cell failed, or, with
    /// `SSLSOCKET_REQUIRE_PEERS=1`, when a program was missing.
    pub fn report(&self, name: &str, title: &str) {
        println!("{}", self.render(title));
        let summary = self.summary(name);
        println!("{summary}");
        assert!(!self.rows.is_empty(), "{name}: no cell ran");
        let failures = self.failures();
        assert!(
            failures.is_empty(),
            "{} {name} cell(s) failed (table above): {summary}",
            failures.len()
        );
        peers::settle_missing(name, &self.missing());
    }

    /// The failed rows.
    #[must_use]
    pub fn failures(&self) -> Vec<&Row> {
        self.rows.iter().filter(|r| matches!(r.cell, Cell::Fail(_))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::{Cell, Table};
    use crate::peers::Missing;

    #[test]
    fn the_summary_counts_each_kind_of_cell_and_names_the_missing_programs() {
        let mut t = Table::default();
        t.push("rustls", "openssl s_server", "a", Cell::Pass(String::new()));
        t.push("rustls", "openssl s_server", "b", Cell::Pass("TlsV1_3".into()));
        t.push("native", "openssl s_client", "c", Cell::NotApplicable("no TLS 1.3".into()));
        t.run(("rustls", "gnutls-serv", "d"), &["sslsocket-no-such-program"], || {
            unreachable!("a cell whose program is missing does not run")
        });
        t.push(
            "rustls",
            "gnutls-cli",
            "e",
            Cell::PeerMissing(Missing { program: "gnutls-cli".into() }),
        );
        t.run(("rustls", "sh", "f"), &[], || Err("broken".into()));
        assert_eq!(
            t.summary("interop"),
            "interop: 2 pass, 1 fail, 1 n/a (engine capability), 2 n/a (peer missing: \
             sslsocket-no-such-program, gnutls-cli)"
        );
        assert!(t
            .render("title")
            .contains("| n/a: gnutls-cli not installed (apt-get install gnutls-bin)"));
        assert_eq!(t.failures().len(), 1);
    }

    #[test]
    fn a_table_without_missing_programs_says_so() {
        let mut t = Table::default();
        t.push("rustls", "curl", "a", Cell::Pass(String::new()));
        assert_eq!(
            t.summary("interop"),
            "interop: 1 pass, 0 fail, 0 n/a (engine capability), 0 n/a (peer missing)"
        );
    }
}
