//! `host` and `hosts` declarations, and the `on ...` of a step: the machines its commands
//! run on, over SSH. A step on a host runs commands only: a change to a file (`set`,
//! `link`) or a native restore happens on this machine, which is not what it would say.

use super::*;

impl Resolver<'_> {
    pub(super) fn hosts(&mut self, runbook: &ast::Runbook) -> Vec<Host> {
        let mut hosts: Vec<Host> = Vec::new();
        let mut seen: Vec<(String, Span)> = Vec::new();
        for item in &runbook.items {
            let (name, span) = match item {
                ast::Item::Host(host) => (&host.name, host.span),
                ast::Item::Hosts(list) => (&list.name, list.span),
                _ => continue,
            };
            if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name.name) {
                let first = *first;
                self.error("E0267", name.span, format!("the host `{}` is declared twice", name.name))
                    .add_secondary(first, "first declared here")
                    .help = Some("a host and a host list share one set of names".into());
                continue;
            }
            seen.push((name.name.clone(), span));
        }
        for item in &runbook.items {
            let ast::Item::Host(host) = item else { continue };
            if hosts.iter().any(|h| h.name == host.name.name) {
                continue;
            }
            let mut settings = Vec::new();
            for setting in &host.settings {
                let key = setting.name.name.as_str();
                if !Host::SETTINGS.contains(&key) {
                    let help = suggest(key, Host::SETTINGS).map_or_else(
                        || format!("a host takes: {}", Host::SETTINGS.join(", ")),
                        |close| format!("did you mean `{close}`?"),
                    );
                    self.error("E0266", setting.name.span, format!("a host has no setting `{key}`"))
                        .help = Some(help);
                    continue;
                }
                let value = self.value(&setting.value);
                let ty = if key == "port" { ParamType::Int } else { ParamType::String };
                self.expect_type(&value, ty, setting.value.span(), &format!("`{key}`"));
                if key == "address" {
                    if let Expr::Str(template) = &value {
                        let text = template.to_string();
                        if text.starts_with('-') || text.contains(char::is_whitespace) {
                            self.error("E0266", setting.value.span(), format!("`{text}` is not a host's address"))
                                .help = Some("a host name or an IP address, such as \"db1.internal\" or \"10.0.0.5\"".into());
                        }
                    }
                }
                settings.push((key.to_string(), value));
            }
            if !settings.iter().any(|(n, _)| n == "address") {
                self.error("E0266", host.span, format!("the host `{}` needs an `address`", host.name.name))
                    .help = Some("add `address = \"db1.internal\"` (a host name or an IP address)".into());
            }
            hosts.push(Host {
                name: host.name.name.clone(),
                settings,
                span: host.span,
            });
        }
        let mut lists: Vec<(String, Vec<String>)> = Vec::new();
        for item in &runbook.items {
            let ast::Item::Hosts(list) = item else { continue };
            let mut members: Vec<String> = Vec::new();
            for member in &list.hosts {
                if members.contains(&member.name) {
                    self.error(
                        "E0267",
                        member.span,
                        format!("`{}` is in the list `{}` twice", member.name, list.name.name),
                    )
                    .help = Some("name each host once; a host you meant to add has another name".into());
                } else if hosts.iter().any(|h| h.name == member.name) {
                    members.push(member.name.clone());
                } else {
                    let known: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
                    self.no_such_host(member, &known);
                }
            }
            lists.push((list.name.name.clone(), members));
        }
        self.host_lists = lists;
        self.host_names = hosts.iter().map(|h| h.name.clone()).collect();
        hosts
    }

    /// E0268, with the closest of the names `known` (hosts, and host lists where they may be).
    fn no_such_host(&mut self, name: &ast::Ident, known: &[String]) {
        let help = match suggest(&name.name, known.iter().map(String::as_str)) {
            Some(close) => format!("did you mean `{close}`?"),
            None if known.is_empty() => "declare it: host db1 { address = \"db1.internal\" user = \"postgres\" }".to_string(),
            None => format!("the names it may be: {}", known.join(", ")),
        };
        self.error("E0268", name.span, format!("there is no host `{}`", name.name)).help = Some(help);
    }

    /// `, N at a time`: at least 1, and at most [`Host::MOST_AT_ONCE`].
    pub(super) fn at_once(&mut self, at_a_time: Option<&ast::Spanned<i64>>) -> usize {
        let Some(at) = at_a_time else { return 1 };
        match usize::try_from(at.value) {
            Ok(n @ 1..=Host::MOST_AT_ONCE) => n,
            _ => {
                self.error("E0270", at.span, format!("a step cannot run on {} hosts at a time", at.value))
                    .help = Some(format!(
                    "say from 1 to {} at a time; without it, a step runs on its hosts one after the other",
                    Host::MOST_AT_ONCE
                ));
                1
            }
        }
    }

    /// The hosts a step runs on, lists spelled out, in order; what it does that cannot
    /// happen on another machine is refused.
    pub(super) fn hosts_of(&mut self, on: &[ast::Ident], parts: &StepParts) -> Vec<String> {
        let mut hosts: Vec<String> = Vec::new();
        for name in on {
            if let Some((_, members)) = self.host_lists.iter().find(|(n, _)| *n == name.name) {
                hosts.extend(members.iter().cloned());
            } else if self.host_names.contains(&name.name) {
                hosts.push(name.name.clone());
            } else {
                let known: Vec<String> = self
                    .host_names
                    .iter()
                    .chain(self.host_lists.iter().map(|(n, _)| n))
                    .cloned()
                    .collect();
                self.no_such_host(name, &known);
            }
        }
        // A host named twice, itself or through a list, would run the step twice there, or
        // hide the host the author meant to name.
        let mut seen: Vec<String> = Vec::new();
        let named: Vec<(&ast::Ident, String)> = on
            .iter()
            .flat_map(|name| {
                let members = self.host_lists.iter().find(|(n, _)| *n == name.name).map(|(_, m)| m.clone());
                members
                    .unwrap_or_else(|| vec![name.name.clone()])
                    .into_iter()
                    .map(move |h| (name, h))
            })
            .collect();
        for (name, host) in named {
            if seen.contains(&host) {
                self.error("E0267", name.span, format!("the step names the host `{host}` twice"))
                    .help = Some("name each host once (a list names its hosts already)".into());
            }
            seen.push(host);
        }
        let mut unique = Vec::new();
        hosts.retain(|h| {
            let fresh = !unique.contains(h);
            unique.push(h.clone());
            fresh
        });
        if hosts.is_empty() {
            return hosts;
        }
        let local = parts.actions.iter().chain(parts.undo.iter().flatten()).find_map(|action| {
            let what = match &action.kind {
                ActionKind::Set { .. } => "`set` changes a file on this machine",
                ActionKind::Link { .. } => "`link` changes a link on this machine",
                ActionKind::Builtin { .. } => "a native restore works on this machine",
                _ => return None,
            };
            Some((action.span, what))
        });
        if let Some((span, what)) = local {
            self.error("E0269", span, format!("{what}, but the step runs on {}", hosts.join(", ")))
                .help = Some("do it in a step of its own, without `on`, or as a command (`run`, `shell`) on the host".into());
        }
        // Run once per host, a question would be asked, and a value captured, once each:
        // which answer or which host's value the later steps get would be a guess.
        let once = parts.actions.iter().find_map(|action| {
            let what = match &action.kind {
                ActionKind::Ask { .. } => "a question would be asked once per host",
                ActionKind::Manual { .. } => "work by hand would be asked for once per host",
                ActionKind::Run { capture: Some(_), .. } | ActionKind::Shell { capture: Some(_), .. } => {
                    "a value would be captured once per host, each over the last"
                }
                _ => return None,
            };
            Some((action.span, what))
        });
        if let (Some((span, what)), true) = (once, hosts.len() > 1) {
            self.error("E0269", span, format!("{what}: the step runs on {}", hosts.join(", ")))
                .help = Some("ask, do by hand or capture in a step on one host (or on none), before or after this one".into());
        }
        hosts
    }
}
