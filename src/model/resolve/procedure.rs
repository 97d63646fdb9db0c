//! The procedure: steps and gates in the order they run, and the `when`s whose sides hold
//! some of them.

use super::*;

impl Resolver<'_> {
    /// A step or a gate of the procedure, on a side of a `when` or not. `rest` is what follows
    /// it, where a gate finds the step it comes before.
    pub(super) fn procedure_item(
        &mut self,
        item: &ast::Item,
        rest: &[ast::Item],
        file: &ast::File,
        model: &mut Model,
        branch: Option<Branch>,
    ) {
        match item {
            ast::Item::Step(step) => {
                let doc = doc_comment(&file.comments, self.source.text(), step.span.start);
                let mut step = self.step(step, doc);
                step.branch = branch;
                model.procedure.push(Node::Step(step));
            }
            ast::Item::Gate(gate) => {
                let next = rest.iter().find_map(|item| match item {
                    ast::Item::Step(step) => Some(step.id.name.as_str()),
                    _ => None,
                });
                let mut gate = self.gate(gate, next, model.procedure.len());
                if gate.id.starts_with("before_") && model.procedure.iter().any(|n| matches!(n, Node::Gate(g) if g.id == gate.id)) {
                    let taken = |id: &str| model.procedure.iter().any(|n| matches!(n, Node::Gate(g) if g.id == id));
                    let base = gate.id.clone();
                    gate.id = (2..).map(|n| format!("{base}_{n}")).find(|id| !taken(id)).expect("an unused id");
                }
                gate.branch = branch;
                model.procedure.push(Node::Gate(gate));
            }
            _ => {}
        }
    }

    /// `when "..." { check } then { ... } else { ... }`: the check is compiled with what the
    /// steps before it give, and each step and gate of either side knows its side.
    pub(super) fn when(&mut self, when: &ast::When, file: &ast::File, model: &mut Model) {
        self.steps_run = self.steps_resolved;
        let check = self.check(&when.check, StatementContext::Step);
        self.steps_run = usize::MAX;
        let decision = std::sync::Arc::new(Decision {
            id: format!("when_{}", model.decisions.len() + 1),
            check,
            has_else: when.otherwise.is_some(),
        });
        model.decisions.push(decision.clone());
        let sides = std::iter::once((true, &when.then)).chain(when.otherwise.as_ref().map(|items| (false, items)));
        // What each side captured, with its binding: a name both sides capture has a value
        // after the `when` whichever side ran.
        let mut captured_by_side: Vec<Vec<(String, (resolve_types::Binding, Span))>> = Vec::new();
        for (side, items) in sides {
            if !items.iter().any(|item| matches!(item, ast::Item::Step(_))) {
                let which = if side { "`then`" } else { "`else`" };
                self.error("E0259", when.check.span, format!("the {which} side of this `when` has no step"))
                    .help = Some("put the steps that run in that case between its braces, or leave out an empty `else`".into());
            }
            let before: Vec<String> = self.names.keys().cloned().collect();
            for (index, item) in items.iter().enumerate() {
                let branch = Branch {
                    decision: decision.clone(),
                    when: side,
                };
                self.procedure_item(item, &items[index + 1..], file, model, Some(branch));
            }
            // What this side captured exists only if the run took it.
            let captured: Vec<String> = self.names.keys().filter(|name| !before.contains(name)).cloned().collect();
            let mut this_side = Vec::new();
            for name in captured {
                if let Some(binding) = self.names.remove(&name) {
                    self.side_only.push(SideOnly {
                        name: name.clone(),
                        span: binding.1,
                        decision: literal_text(&when.check.description),
                        then: side,
                    });
                    this_side.push((name, binding));
                }
            }
            captured_by_side.push(this_side);
        }
        if let [then, otherwise] = captured_by_side.as_slice() {
            for (name, binding) in then {
                if otherwise.iter().any(|(other, _)| other == name) {
                    self.side_only.retain(|s| s.name != *name);
                    self.names.insert(name.clone(), binding.clone());
                }
            }
        }
    }

    /// E0271: a value captured on one side of a `when`, used where that side may not have run.
    pub(super) fn captured_on_a_side(&mut self, name: &str, span: Span) -> bool {
        let Some(side) = self.side_only.iter().find(|s| s.name == name).cloned() else {
            return false;
        };
        if !self.in_closing_block {
            let which = if side.then { "`then`" } else { "`else`" };
            self.error(
                "E0271",
                span,
                format!(
                    "`{name}` may have no value here: it is captured only on the {which} side of the `when` \"{}\"",
                    side.decision
                ),
            )
            .add_secondary(side.span, "captured here")
            .help = Some("use it on that side, or capture it before the `when`, where every run passes".into());
        }
        true
    }

    pub(super) fn step(&mut self, step: &ast::Step, doc: Option<String>) -> Step {
        self.no_interpolation(&step.title, "a step's title");
        let mut parts = StepParts::default();
        // Steps are read in order: this one is the next of `step_ids`.
        self.steps_resolved += 1;
        self.steps_run = self.steps_resolved;
        self.statements(&step.body, &mut parts, StatementContext::Step);
        self.steps_run = usize::MAX;
        let hosts = self.hosts_of(&step.on, &parts);
        let at_once = self.at_once(step.at_a_time.as_ref());
        Step {
            id: step.id.name.clone(),
            title: literal_text(&step.title),
            doc,
            actions: parts.actions,
            timeout: parts.timeout,
            retry: parts.retry,
            undo: parts.undo.unwrap_or_default(),
            irreversible: parts.irreversible,
            restores: parts.restores,
            branch: None,
            hosts,
            at_once,
            span: step.span,
            id_span: step.id.span,
        }
    }

    pub(super) fn gate(&mut self, gate: &ast::Gate, next_step: Option<&str>, position: usize) -> Gate {
        let asks = self.template(&gate.question);
        let id = match (&gate.id, next_step) {
            (Some(id), _) => id.name.clone(),
            (None, Some(step)) => format!("before_{step}"),
            (None, None) => format!("gate_{}", position + 1),
        };
        let confirm = gate.confirm.as_ref().map(|word| {
            self.no_interpolation(word, "the word to confirm");
            literal_text(word)
        });
        if confirm.as_deref() == Some("") {
            self.error(
                "E0210",
                gate.confirm.as_ref().map_or(gate.span, |c| c.span),
                "the word to confirm is empty",
            );
        }
        Gate {
            id,
            question: literal_text(&gate.question),
            asks,
            drill: gate.drill.map(|p| p.value),
            confirm,
            branch: None,
            span: gate.span,
        }
    }
}
