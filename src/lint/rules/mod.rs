//! One file per rule. Add a rule by writing its file and listing it in [`ALL`].

mod gate_policy;
mod objectives;
mod unused_name;

use super::Rule;

pub(super) static ALL: &[&dyn Rule] = &[&objectives::Objectives, &gate_policy::GatePolicy, &unused_name::UnusedName];

#[cfg(test)]
pub(super) fn findings(text: &str) -> Vec<String> {
    let source = crate::source::Source::new("t.runbook", text);
    let model = crate::model::load(&source, &Default::default()).unwrap_or_else(|d| panic!("{}", d[0].to_plain_string()));
    super::lint(&model)
        .into_iter()
        .map(|d| format!("{} {}", d.code, d.message))
        .collect()
}
