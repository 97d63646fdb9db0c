//! RB019: a database server a step starts is stopped once a drill is over.

use crate::diagnostic::Severity;
use crate::lint::{Findings, Rule, RuleInfo};
use crate::model::commands::{Engine, ServerChange, simple_commands};
use crate::model::{Action, Mode, Model};

pub(super) struct ServerLeftRunning;

static INFO: RuleInfo = RuleInfo {
    id: "RB019",
    name: "server-left-running",
    severity: Severity::Warning,
    rationale: "A drill starts a database server only to check what came back. Left running, \
                it keeps its port, its memory and a readable copy of production's data on the \
                drill machine after every drill, until the next drill's port is taken or the \
                disk fills. Stop it in `always in drill`, which an incident does not run: there \
                the server now serves the app.",
};

/// What the commands of these actions do to database servers.
fn changes<'m>(actions: impl Iterator<Item = &'m Action>) -> impl Iterator<Item = (&'m Action, ServerChange)> {
    actions.flat_map(|action| {
        simple_commands(&action.kind)
            .into_iter()
            .filter_map(|command| command.server_change())
            .map(move |change| (action, change))
            .collect::<Vec<_>>()
    })
}

/// The `use` that stops the server this action starts: with the start piece's own arguments
/// when it came from one.
fn stop_for(action: &Action, engine: Engine) -> String {
    let arg = |name: &str| {
        action
            .origin
            .as_ref()
            .filter(|used| used.name.ends_with(".start"))
            .and_then(|used| used.args.iter().find(|(n, _)| n == name))
            .map_or_else(|| "...".to_string(), |(_, value)| value.to_string())
    };
    match engine {
        Engine::PostgreSQL => format!("use postgres.stop(datadir: {}, pgbin: {})", arg("datadir"), arg("pgbin")),
        Engine::MariaDB => format!("use mariadb.stop(datadir: {})", arg("datadir")),
    }
}

impl Rule for ServerLeftRunning {
    fn info(&self) -> &'static RuleInfo {
        &INFO
    }

    fn check(&self, model: &Model, findings: &mut Findings<'_>) {
        // Stopped by a step (in every run) or by a clean-up a drill runs; an `undo` stops it
        // only when the run fails.
        let in_drills = model
            .always
            .iter()
            .filter(|block| block.only_in != Some(Mode::Incident))
            .flat_map(|block| &block.actions);
        let stopped: Vec<Engine> = changes(model.steps().flat_map(|s| &s.actions).chain(in_drills))
            .filter_map(|(_, change)| match change {
                ServerChange::Stops(engine) => Some(engine),
                ServerChange::Starts(_) => None,
            })
            .collect();
        let mut reported: Vec<Engine> = Vec::new();
        for step in model.steps() {
            for (action, change) in changes(step.actions.iter()) {
                let ServerChange::Starts(engine) = change else { continue };
                if stopped.contains(&engine) || reported.contains(&engine) {
                    continue;
                }
                reported.push(engine);
                let stop = stop_for(action, engine);
                findings
                    .add(
                        action.span,
                        format!(
                            "step `{}` starts a {} server that nothing stops once a drill is over",
                            step.id,
                            engine.name()
                        ),
                    )
                    .add_label("still running after every drill")
                    .help = Some(format!(
                    "stop it in a clean-up only drills run, so an incident keeps it: always in drill {{ {stop} }}"
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::findings_of;

    const STARTS: &str = "step up \"Up\" { use postgres.start(datadir: \"/w/r\", port: \"5433\") timeout 1m }";

    #[test]
    fn flags_a_server_a_drill_starts_and_never_stops() {
        let found = findings_of("RB019", &format!("runbook \"t\" {{ rto 5m\n {STARTS} }}"));
        assert_eq!(
            found,
            ["RB019 step `up` starts a PostgreSQL server that nothing stops once a drill is over"]
        );
        let mariadb = "runbook \"t\" { rto 5m\n step up \"Up\" { shell `setsid mariadbd --datadir=/w/m &` timeout 1m } }";
        assert_eq!(
            findings_of("RB019", mariadb),
            ["RB019 step `up` starts a MariaDB server that nothing stops once a drill is over"]
        );
        // An undo stops it only when the run fails; an incident's clean-up never in a drill.
        for closing in ["always in incident { use postgres.stop(datadir: \"/w/r\") }", ""] {
            let undo = format!(
                "runbook \"t\" {{ rto 5m\n step up \"Up\" {{ run `pg_ctl -D /w/r start` timeout 1m undo {{ run `pg_ctl -D /w/r stop` }} }} {closing} }}"
            );
            assert_eq!(findings_of("RB019", &undo).len(), 1, "{undo}");
        }
    }

    #[test]
    fn passes_when_a_drill_stops_it() {
        for stops in [
            "always in drill { use postgres.stop(datadir: \"/w/r\") }",
            "always { run `pg_ctlcluster 15 main stop` }",
            "step down \"Down\" { run `pg_ctl --pgdata /w/r --mode fast stop` timeout 1m }",
        ] {
            let text = format!("runbook \"t\" {{ rto 5m\n {STARTS}\n {stops} }}");
            assert!(findings_of("RB019", &text).is_empty(), "{text}");
        }
        let bootstrap = "runbook \"t\" { rto 5m\n step b \"B\" { shell `mariadbd --bootstrap --datadir=/w/m < init.sql` timeout 1m } }";
        assert!(findings_of("RB019", bootstrap).is_empty());
        let mariadb = "runbook \"t\" { rto 5m\n step up \"Up\" { use mariadb.start(datadir: \"/w/m\", port: \"3307\") timeout 1m }\n always in drill { use mariadb.stop(datadir: \"/w/m\") } }";
        assert!(findings_of("RB019", mariadb).is_empty());
    }
}
