//! Steps `on` a host, drilled against a real OpenSSH server on loopback: each value reaches
//! the remote command as one literal argument however hostile, a host list runs host after
//! host with each one's result recorded, and a timeout stops the command on the other machine.

use proptest::prelude::*;
use serde_json::Value;

use crate::support::sshd::Sshd;
use crate::support::{Test, the_run};

fn report(test: &Test) -> Value {
    let text = std::fs::read_to_string(test.path().join("report/report.json")).expect("report.json");
    serde_json::from_str(&text).expect("JSON")
}

/// A runbook whose step, on the server, prints `value` through the argv form and through a
/// shell script; the captures must be the value exactly, between markers (captures trim).
fn round_trip(server: &Sshd) -> String {
    format!(
        r#"runbook "Values on a host" {{
    param value = "x" "Any text at all"
    {}
    step echo "Print the value there" on box {{
        run `printf '<%s>' {{value}}` capture by_argv
        shell `printf '<%s>' {{value}}` capture by_shell
        timeout 1m
    }}
    step compare "Compare here" {{
        check "the argv form kept it" {{ by_argv == "<" + value + ">" }}
        check "the shell kept it" {{ by_shell == "<" + value + ">" }}
        timeout 1m
    }}
}}
"#,
        server.host("box")
    )
}

fn drill_value(server: &Sshd, value: &str) -> crate::support::Outcome {
    let test = Test::new().file("values.runbook", round_trip(server));
    test.run_with(&["drill", "values.runbook", "--state-dir", "state", "-p", &format!("value={value}")])
}

#[test]
fn each_value_reaches_the_remote_command_as_one_literal_argument() {
    let Some(server) = Sshd::start() else { return };
    let marker = tempfile::tempdir().expect("a folder");
    let pwned = marker.path().join("pwned");
    for value in [
        "it's".to_string(),
        format!("$(touch {})", pwned.display()),
        format!("`touch {}`", pwned.display()),
        format!("x; touch {}", pwned.display()),
        "two words".into(),
        "line one\nline two".into(),
        "\"double\" and \\backslash\\".into(),
        "* ? [a-z] ~ #".into(),
        "-o ProxyCommand=evil".into(),
    ] {
        let outcome = drill_value(&server, &value);
        assert_eq!(outcome.code, 0, "{value:?}:\n{}", outcome.stderr);
    }
    assert!(!pwned.exists(), "a value was run on the other machine");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    #[test]
    fn any_hostile_text_reaches_the_remote_command_as_written(value in "[a-z '\"$()`;|&<>*?\\[\\]{}\\\\!#~=%\n\t-]{1,30}") {
        let Some(server) = Sshd::start() else { return Ok(()) };
        let outcome = drill_value(&server, &value);
        prop_assert_eq!(outcome.code, 0, "{:?}:\n{}", value, outcome.stderr);
    }
}

#[test]
fn a_host_list_runs_host_after_host_and_records_each_one() {
    let Some(server) = Sshd::start() else { return };
    let test = Test::new();
    let ran = test.path().join("ran");
    let text = format!(
        r#"runbook "Rolling" {{
    {first}
    {second}
    host gone {{
        address = "127.0.0.1"
        port = 1
    }}
    hosts replicas = [first, second]
    step restart "Restart each replica" on replicas {{
        run `sh -c 'echo "$RUNBOOK_STEP" >> "$1"' sh {ran}`
        undo {{ run `sh -c 'echo undone-restart >> "$1"' sh {ran}` }}
        timeout 1m
    }}
    step last "Then the one that is gone" on first, gone {{
        run `sh -c 'echo last >> "$1"' sh {ran}` allow failure
        undo {{ run `sh -c 'echo undone-last >> "$1"' sh {ran}` }}
        timeout 1m
    }}
}}
"#,
        first = server.host("first"),
        second = server.host("second"),
        ran = ran.display()
    );
    let test = test.file("rolling.runbook", text);
    let outcome = test.run_with(&["drill", "rolling.runbook", "--state-dir", "state", "--report", "report"]);
    outcome.expect_code(1);
    // Once on each; the failed step is undone where it passed, then the completed one on both.
    assert_eq!(
        std::fs::read_to_string(&ran).expect("ran"),
        "restart\nrestart\nlast\nundone-last\nundone-restart\nundone-restart\n"
    );
    assert!(
        outcome
            .stderr
            .contains(&format!("on first ({}@127.0.0.1:{})", server.user, server.port)),
        "{}",
        outcome.stderr
    );
    assert!(outcome.stderr.contains("    ✗ on gone\n"), "{}", outcome.stderr);
    assert!(
        outcome
            .stderr
            .contains("on gone: ssh could not run `sh` there: it exited with status 255"),
        "{}",
        outcome.stderr
    );
    let steps = &report(&test)["steps"];
    let hosts: Vec<(&str, bool)> = steps[0]["hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .map(|h| (h["host"].as_str().unwrap(), h["ok"].as_bool().unwrap()))
        .collect();
    assert_eq!(hosts, [("first", true), ("second", true)]);
    assert_eq!(steps[1]["hosts"][1]["host"], "gone");
    assert_eq!(steps[1]["hosts"][1]["ok"], false);
    assert_eq!(steps[0]["commands"][0]["host"], "first");
    assert_eq!(
        steps[0]["hosts"].as_array().map(Vec::len),
        Some(2),
        "the undo's turns are not the step's"
    );
    let journal = std::fs::read_to_string(the_run(&test.path().join("state")).join("journal.jsonl")).expect("journal");
    let forward = journal
        .lines()
        .filter(|l| l.contains(r#""event":"host_finished","step":"restart""#) && !l.contains(r#""undo":true"#))
        .count();
    assert_eq!(forward, 2, "{journal}");
}

#[test]
fn a_timeout_stops_the_command_on_the_other_machine_too() {
    let Some(server) = Sshd::start() else { return };
    let test = Test::new();
    let pid = test.path().join("remote.pid");
    let text = hanging(&server, &pid, "2s");
    let test = test.file("hang.runbook", text);
    let outcome = test.run_with(&["drill", "hang.runbook", "--state-dir", "state"]);
    outcome.expect_code(1);
    assert!(outcome.stderr.contains("timeout"), "{}", outcome.stderr);
    let remote: i32 = std::fs::read_to_string(&pid)
        .expect("the remote pid")
        .trim()
        .parse()
        .expect("a pid");
    gone(remote, "the remote command outlived the step");
}

/// A step on the server that writes its remote pid to `pid`, then sleeps past `timeout`.
fn hanging(server: &Sshd, pid: &std::path::Path, timeout: &str) -> String {
    format!(
        r#"runbook "Hangs there" {{
    {box_}
    step hang "Hang on the host" on box {{
        run `sh -c 'echo $$ > "$1"; exec sleep 300' sh {pid}`
        timeout {timeout}
    }}
}}
"#,
        box_ = server.host("box"),
        pid = pid.display()
    )
}

/// Waits until the process `pid` is gone, or fails after 10 s.
fn gone(pid: i32, what: &str) {
    let started = std::time::Instant::now();
    // SAFETY: kill with signal 0 only asks whether the process exists.
    while unsafe { libc::kill(pid, 0) } == 0 {
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "{what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn ctrl_c_stops_the_command_on_the_other_machine_too() {
    let Some(server) = Sshd::start() else { return };
    let test = Test::new();
    let pid = test.path().join("remote.pid");
    let text = hanging(&server, &pid, "10m");
    let test = test.file("hang.runbook", text);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("runbook"))
        .args(["drill", "hang.runbook", "--state-dir", "state"])
        .current_dir(test.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start runbook");
    let started = std::time::Instant::now();
    let remote: i32 = loop {
        if let Some(found) = std::fs::read_to_string(&pid).ok().and_then(|t| t.trim().parse().ok()) {
            break found;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the remote command never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    // SAFETY: a signal to the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(
        child.wait().expect("wait").code(),
        Some(130),
        "a drill stopped by Ctrl-C is interrupted"
    );
    gone(remote, "the remote command outlived Ctrl-C");
}

#[test]
fn plan_render_fmt_and_lint_show_the_hosts() {
    let text = r#"runbook "Hosts" {
    rto 30m
    rpo 1h
    param replica_address = "10.0.0.6" "The replica"
    host primary {
        address = "db1.internal"
        user = "postgres"
        port = 2222
        jump = "ops@bastion.internal"
    }
    host replica { address = replica_address }
    hosts all = [primary, replica]
    step check "Check each server" on all {
        run `pg_isready`
        timeout 1m
    }
}
"#;
    let test = Test::new().file("hosts.runbook", text);
    let plan = test.run_with(&["plan", "hosts.runbook"]);
    plan.expect_code(0);
    assert!(
        plan.stdout.contains(
            "      on primary (postgres@db1.internal:2222 via ops@bastion.internal), then replica (10.0.0.6), over SSH, one after the other"
        ),
        "{}",
        plan.stdout
    );
    let json = test.run_with(&["plan", "hosts.runbook", "--format", "json"]);
    let plan: Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(plan["procedure"][0]["hosts"][1]["target"], "10.0.0.6");
    let render = test.run_with(&["render", "hosts.runbook"]);
    assert!(
        render.stdout.contains("runs on `primary`, then `replica` over SSH"),
        "{}",
        render.stdout
    );
    for row in [
        "| `primary` | `\"db1.internal\"` | `\"postgres\"` | `2222` | `\"ops@bastion.internal\"` |",
        "| `replica` | `replica_address` |  |  |  |",
    ] {
        assert!(render.stdout.contains(row), "{row}\n{}", render.stdout);
    }
    let fmt = test.run_with(&["fmt", "--check", "hosts.runbook"]);
    assert_eq!(
        fmt.code, 1,
        "fmt puts the one-line host on lines of its own:\n{}{}",
        fmt.stdout, fmt.stderr
    );
    test.run_with(&["fmt", "hosts.runbook"]).expect_code(0);
    let formatted = std::fs::read_to_string(test.path().join("hosts.runbook")).expect("formatted");
    assert!(formatted.contains("    hosts all = [primary, replica]\n"), "{formatted}");
    assert!(formatted.contains("    step check \"Check each server\" on all {\n"), "{formatted}");
    assert!(
        formatted.contains("    host replica {\n        address = replica_address\n    }\n"),
        "{formatted}"
    );
    test.run_with(&["fmt", "--check", "hosts.runbook"]).expect_code(0);
    let lint = Test::new()
        .file(
            "by-hand.runbook",
            "runbook \"R\" {\n    rto 5m\n    rpo 5m\n    step s \"S\" {\n        run `ssh db1 uptime`\n        timeout 1m\n    }\n}\n",
        )
        .run_with(&["lint", "by-hand.runbook"]);
    assert!(lint.stdout.contains("RB017"), "{}", lint.stdout);
}

#[test]
fn a_host_that_is_not_declared_or_a_step_that_changes_files_here_is_refused() {
    let test = Test::new().file(
        "bad.runbook",
        r#"runbook "Bad hosts" {
    host primary {
        address = "db1.internal"
        usr = "postgres"
    }
    host empty { user = "x" }
    step a "A" on primay {
        run `true`
    }
    step b "B" on primary {
        set "/etc/app.env" URL = "x"
    }
    hosts both = [primary, primary2]
    host primary2 { address = "db2.internal" }
    step c "C" on both {
        run `cat /etc/hostname` capture name
    }
}
"#,
    );
    let outcome = test.run_with(&["plan", "bad.runbook"]);
    outcome.expect_code(2);
    for expected in [
        "error[E0266]: a host has no setting `usr`",
        "did you mean `user`?",
        "error[E0266]: the host `empty` needs an `address`",
        "error[E0268]: there is no host `primay`",
        "did you mean `primary`?",
        "error[E0269]: `set` changes a file on this machine, but the step runs on primary",
        "error[E0269]: a value would be captured once per host, each over the last: the step runs on primary, primary2",
    ] {
        assert!(outcome.stderr.contains(expected), "{expected}\n{}", outcome.stderr);
    }
}

/// The book page's example, its hosts pointed at the test's server, drilled as the page says.
#[test]
fn the_book_pages_example_drills_on_the_hosts_it_declares() {
    let Some(server) = Sshd::start() else { return };
    let page = std::fs::read_to_string(crate::support::root().join("book/src/language/hosts.md")).expect("the page");
    let example = page
        .split("```runbook\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("the page's example");
    let mut text = example.to_string();
    for name in ["primary", "replica"] {
        let start = text.find(&format!("    host {name} {{")).expect("the host");
        let end = start + text[start..].find("\n    }").expect("its end") + "\n    }".len();
        text.replace_range(start..end, &format!("    {}", server.host(name)));
    }
    let test = Test::new().file("rewind.runbook", text);
    let outcome = test.run_with(&["drill", "rewind.runbook", "--state-dir", "state", "--report", "report"]);
    outcome.expect_code(0);
    let target = format!("{}@127.0.0.1:{}", server.user, server.port);
    let expected = format!(
        "[2/2] restore: Restore it on each server, one after the other\n    on primary ({target})\n      primary$ sh -c 'echo \"restoring $1\" > /dev/null' sh 20261201-010000F\n    on replica ({target})\n"
    );
    assert!(outcome.stderr.contains(&expected), "{expected}\n{}", outcome.stderr);
    assert_eq!(report(&test)["steps"][1]["hosts"].as_array().map(Vec::len), Some(2));
}

/// Three hosts, two at a time, each step's commands over the same server: the first command
/// on `a` waits for the same command to have started on `b` (and the other way round), so
/// run one after the other it would give up and fail.
fn fleet(server: &Sshd, dir: &std::path::Path, second: &str) -> String {
    format!(
        r#"runbook "Rolling, two at a time" {{
    {a}
    {b}
    {c}
    hosts fleet = [a, b, c]
    step roll "Roll the fleet" on fleet, 2 at a time {{
        shell `touch {dir}/$RUNBOOK_HOST.one; case $RUNBOOK_HOST in a) p=b;; b) p=a;; *) p=; esac; if [ -n "$p" ]; then i=0; until [ -e {dir}/$p.one ]; do i=$((i+1)); [ $i -lt 400 ] || exit 7; sleep 0.05; done; fi; echo "$RUNBOOK_HOST one" >> {dir}/order`
        shell `{second} && echo "$RUNBOOK_HOST two" >> {dir}/order && echo "hello from $RUNBOOK_HOST"`
        undo {{
            shell `echo "$RUNBOOK_HOST undone" >> {dir}/order`
        }}
        timeout 2m
    }}
}}
"#,
        a = server.host("a"),
        b = server.host("b"),
        c = server.host("c"),
        dir = dir.display(),
    )
}

fn lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("the order")
        .lines()
        .map(String::from)
        .collect()
}

fn sorted(lines: &[String]) -> Vec<String> {
    let mut lines = lines.to_vec();
    lines.sort();
    lines
}

#[test]
fn hosts_two_at_a_time_run_each_command_on_both_before_the_next() {
    let Some(server) = Sshd::start() else { return };
    let test = Test::new();
    let text = fleet(&server, test.path(), "true");
    let test = test.file("fleet.runbook", text);
    let plan = test.run_with(&["plan", "fleet.runbook"]);
    assert!(
        plan.stdout
            .contains(", over SSH, 2 at a time, each command on all of them before the next\n"),
        "{}",
        plan.stdout
    );
    let json: Value = serde_json::from_str(&test.run_with(&["plan", "fleet.runbook", "--format", "json"]).stdout).expect("JSON");
    assert_eq!(json["procedure"][0]["hosts_at_once"], 2);
    assert!(
        test.run_with(&["render", "fleet.runbook"])
            .stdout
            .contains("runs on `a`, `b`, `c` over SSH, 2 at a time")
    );
    test.run_with(&["fmt", "--check", "fleet.runbook"]).expect_code(0);

    let outcome = test.run_with(&["drill", "fleet.runbook", "--state-dir", "state", "--report", "report"]);
    outcome.expect_code(0);
    let order = lines(&test.path().join("order"));
    assert_eq!(order.len(), 6, "{order:?}");
    assert_eq!(sorted(&order[..2]), ["a one", "b one"], "{order:?}");
    assert_eq!(sorted(&order[2..4]), ["a two", "b two"], "{order:?}");
    assert_eq!(order[4..], ["c one", "c two"], "{order:?}");
    let steps = &report(&test)["steps"];
    let hosts: Vec<&str> = steps[0]["hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .map(|h| h["host"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, ["a", "b", "c"]);
    assert_eq!(steps[0]["commands"].as_array().map(Vec::len), Some(6));
    let logs = the_run(&test.path().join("state")).join("logs");
    for host in ["a", "b", "c"] {
        let log = std::fs::read_to_string(logs.join(format!("roll.{host}.log"))).expect("each host's own log");
        assert_eq!(log, format!("hello from {host}\n"));
    }
    assert!(outcome.stderr.contains("a: hello from a"), "{}", outcome.stderr);
}

#[test]
fn a_batch_that_fails_on_one_host_finishes_the_other_and_starts_no_more() {
    let Some(server) = Sshd::start() else { return };
    let test = Test::new();
    let text = fleet(&server, test.path(), r#"[ "$RUNBOOK_HOST" != b ]"#);
    let test = test.file("fleet.runbook", text);
    let outcome = test.run_with(&["drill", "fleet.runbook", "--state-dir", "state", "--report", "report"]);
    outcome.expect_code(1);
    let order = lines(&test.path().join("order"));
    assert_eq!(sorted(&order[..2]), ["a one", "b one"], "{order:?}");
    assert_eq!(
        order[2..],
        ["a two", "a undone"],
        "c never starts; the undo is where it passed:\n{order:?}"
    );
    assert!(outcome.stderr.contains("on b: `/bin/sh` failed"), "{}", outcome.stderr);
    let hosts: Vec<(String, bool)> = report(&test)["steps"][0]["hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .map(|h| (h["host"].as_str().unwrap().to_string(), h["ok"].as_bool().unwrap()))
        .collect();
    assert_eq!(hosts, [("a".to_string(), true), ("b".to_string(), false)]);
}

#[test]
fn ctrl_c_stops_every_host_running_at_once() {
    let Some(server) = Sshd::start() else { return };
    let test = Test::new();
    let text = format!(
        r#"runbook "Hangs on both" {{
    {a}
    {b}
    step hang "Hang on both" on a, b, 2 at a time {{
        shell `echo $$ > {dir}/$RUNBOOK_HOST.pid; exec sleep 300`
        timeout 10m
    }}
}}
"#,
        a = server.host("a"),
        b = server.host("b"),
        dir = test.path().display()
    );
    let test = test.file("hang.runbook", text);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("runbook"))
        .args(["drill", "hang.runbook", "--state-dir", "state"])
        .current_dir(test.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start runbook");
    let started = std::time::Instant::now();
    let pid = |host: &str| -> Option<i32> {
        std::fs::read_to_string(test.path().join(format!("{host}.pid")))
            .ok()
            .and_then(|t| t.trim().parse().ok())
    };
    let remote = loop {
        if let (Some(a), Some(b)) = (pid("a"), pid("b")) {
            break [a, b];
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the remote commands never both started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    // SAFETY: a signal to the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(child.wait().expect("wait").code(), Some(130));
    for pid in remote {
        gone(pid, "a remote command outlived Ctrl-C");
    }
}

#[test]
fn hosts_at_a_time_must_be_from_one_to_thirty_two() {
    for n in ["0", "33"] {
        let text = format!(
            "runbook \"R\" {{\n    host a {{ address = \"db1\" }}\n    step s \"S\" on a, {n} at a time {{\n        run `true`\n    }}\n}}\n"
        );
        let outcome = Test::new().file("r.runbook", text).run_with(&["plan", "r.runbook"]);
        outcome.expect_code(2);
        assert!(
            outcome
                .stderr
                .contains(&format!("error[E0270]: a step cannot run on {n} hosts at a time")),
            "{}",
            outcome.stderr
        );
    }
    let text = "runbook \"R\" {\n    host a { address = \"db1\" }\n    host b { address = \"db2\" }\n    step s \"S\" on a, b, 5 at a time {\n        run `true`\n    }\n}\n";
    let plan = Test::new().file("r.runbook", text).run_with(&["plan", "r.runbook"]);
    assert!(
        plan.stdout.contains("on a (db1), b (db2), over SSH, all at once\n"),
        "{}",
        plan.stdout
    );
}

/// On a host, a relative path is in the account's home folder there, not in `{workdir}`: a
/// drill on the live host deletes live data with it. On a host drills move to a machine of
/// their own, whatever the step deletes is that machine's.
#[test]
fn rb007_reads_paths_on_a_host_where_they_are() {
    let runbook = |drill: &str| {
        format!(
            "runbook \"R\" {{\n    rto 5m\n    rpo 5m\n    param primary_address = \"db1.internal\" \"The primary\"\n    {drill}\n    host primary {{ address = primary_address }}\n    step wipe \"Wipe the old copy\" on primary {{\n        run `rm -rf pgdata`\n        timeout 1m\n    }}\n}}\n"
        )
    };
    let live = Test::new().file("r.runbook", runbook("")).run_with(&["lint", "r.runbook"]);
    assert!(
        live.stdout
            .contains("warning[RB007]: a drill would delete `pgdata`, outside {workdir}"),
        "{}",
        live.stdout
    );
    let moved = Test::new()
        .file("r.runbook", runbook("drill { primary_address = \"restore-test.internal\" }"))
        .run_with(&["lint", "r.runbook"]);
    assert!(!moved.stdout.contains("RB007"), "{}", moved.stdout);
}

/// A host named twice would hide the one the author meant to name: refused, not dropped.
#[test]
fn a_host_named_twice_is_refused() {
    let text = "runbook \"Dup\" {\n    host h1 { address = \"db1\" }\n    host h2 { address = \"db2\" }\n    hosts hs = [h1, h1]\n    hosts both = [h1, h2]\n    step a \"A\" on hs {\n        run `true`\n    }\n    step b \"B\" on both, h2 {\n        run `true`\n    }\n}\n";
    let outcome = Test::new().file("dup.runbook", text).run_with(&["plan", "dup.runbook"]);
    outcome.expect_code(2);
    assert!(
        outcome.stderr.contains("error[E0267]: `h1` is in the list `hs` twice"),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome.stderr.contains("error[E0267]: the step names the host `h2` twice"),
        "{}",
        outcome.stderr
    );
}

/// Through a jump host, the hop gets the host's key, known hosts and BatchMode too: with
/// `-J`, it read only ssh_config, refused a host key `known_hosts` holds, and on a terminal
/// stopped to ask.
#[test]
fn a_jump_host_is_reached_with_the_hosts_own_key_and_known_hosts() {
    let Some(server) = Sshd::start() else { return };
    let host = server.host("inner");
    let host = host.replacen(
        "\n    }",
        &format!("\n        jump = \"{}@127.0.0.1:{}\"\n    }}", server.user, server.port),
        1,
    );
    let text = format!(
        "runbook \"Through a jump host\" {{\n    {host}\n    step there \"Run there\" on inner {{\n        run `echo reached` capture said\n        timeout 1m\n    }}\n    step here \"Check\" {{\n        check \"it ran there\" {{ said == \"reached\" }}\n        timeout 1m\n    }}\n}}\n"
    );
    let test = Test::new().file("jump.runbook", text);
    let outcome = test.run_with(&["drill", "jump.runbook", "--state-dir", "state"]);
    outcome.expect_code(0);
    assert!(
        outcome.stderr.contains(&format!("via {}@127.0.0.1:{}", server.user, server.port)),
        "{}",
        outcome.stderr
    );
}

/// `always on HOSTS`: the clean-up runs on the machines it belongs to, each action on every
/// host whatever happened on the others, and its failure fails the run.
#[test]
fn always_runs_on_its_hosts_every_action_on_every_host() {
    let Some(server) = Sshd::start() else { return };
    let test = Test::new();
    let text = format!(
        r#"runbook "Clean up on the hosts" {{
    {a}
    {b}
    hosts both = [a, b]
    step work "Work" on both {{
        run `true`
        timeout 1m
    }}
    always on both {{
        shell `[ "$RUNBOOK_HOST" != a ]`
        shell `echo "$RUNBOOK_HOST enabled" >> {dir}/agents`
    }}
}}
"#,
        a = server.host("a"),
        b = server.host("b"),
        dir = test.path().display()
    );
    let test = test.file("clean.runbook", text);
    let plan = test.run_with(&["plan", "clean.runbook"]);
    assert!(
        plan.stdout.contains(&format!(
            "    on a ({user}@127.0.0.1:{port}), then b ({user}@127.0.0.1:{port}), over SSH, one after the other; each action on every host, whatever the others did\n",
            user = server.user,
            port = server.port
        )),
        "{}",
        plan.stdout
    );
    assert!(
        test.run_with(&["render", "clean.runbook"])
            .stdout
            .contains("On `a`, then `b` over SSH, one after the other: each action on every host")
    );
    test.run_with(&["fmt", "--check", "clean.runbook"]).expect_code(0);
    let outcome = test.run_with(&["drill", "clean.runbook", "--state-dir", "state", "--report", "report"]);
    outcome.expect_code(1);
    assert_eq!(
        std::fs::read_to_string(test.path().join("agents")).expect("the second action ran"),
        "a enabled\nb enabled\n",
        "{}",
        outcome.stderr
    );
    assert!(outcome.stderr.contains("the `always` block failed: on a:"), "{}", outcome.stderr);
    let always = &report(&test)["always"];
    assert_eq!(always["ok"], false, "{always}");
    let hosts: Vec<&str> = always["commands"]
        .as_array()
        .expect("commands")
        .iter()
        .map(|c| c["host"].as_str().unwrap_or("here"))
        .collect();
    assert_eq!(hosts, ["a", "b", "a", "b"], "{always}");
}

/// Hosts at once end in any order: each command's end is recorded on its own host, and a
/// check after it reads what that host's command printed, not the last host's to finish.
#[test]
fn hosts_at_once_keep_each_hosts_result_apart() {
    let Some(server) = Sshd::start() else { return };
    let text = format!(
        r#"runbook "Apart" {{
    {a}
    {b}
    step roll "Roll" on a, b, 2 at a time {{
        shell `if [ "$RUNBOOK_HOST" = a ]; then echo bad; exit 3; fi; sleep 2; echo good` allow exit 3
        check "it printed good" {{ output("roll").contains("good") }}
        timeout 1m
    }}
}}
"#,
        a = server.host("a"),
        b = server.host("b")
    );
    let test = Test::new().file("apart.runbook", text);
    let outcome = test.run_with(&["drill", "apart.runbook", "--state-dir", "state", "--report", "report"]);
    outcome.expect_code(1);
    assert!(
        outcome.stderr.contains("on a: check \"it printed good\" failed"),
        "{}",
        outcome.stderr
    );
    let step = &report(&test)["steps"][0];
    let ends: Vec<(&str, i64)> = step["commands"]
        .as_array()
        .expect("commands")
        .iter()
        .map(|c| (c["host"].as_str().unwrap(), c["exit_code"].as_i64().expect("an exit code")))
        .collect();
    assert_eq!(ends, [("a", 3), ("b", 0)], "{step}");
    assert_eq!(step["commands"][0]["tolerated"], "allow exit 3", "{step}");
    assert_eq!(step["hosts"][0]["ok"], false, "{step}");
    assert_eq!(step["hosts"][1]["ok"], true, "{step}");
    // Each command's own time, not the batch's.
    let took: Vec<u64> = step["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["duration_ms"].as_u64().unwrap())
        .collect();
    // b sleeps 2 s after its connection; a second of that margin is left for a's own
    // connection to be slower than b's on a loaded machine.
    assert!(took[0] + 1_000 < took[1], "a's command ended before b's slept: {step}");
}

/// A known_hosts file in a folder whose name has a space is one file to ssh, with a jump host
/// too; an option ssh would read as `Key Value` cannot smuggle in a command.
#[test]
fn a_known_hosts_path_with_a_space_works_and_an_option_cannot_hide_a_command() {
    let Some(server) = Sshd::start() else { return };
    let test = Test::new();
    let spaced = test.path().join("key dir");
    std::fs::create_dir_all(&spaced).expect("a folder");
    std::fs::copy(server.known_hosts(), spaced.join("known_hosts")).expect("copy known_hosts");
    let host = server
        .host("box")
        .replace(
            &server.known_hosts().display().to_string(),
            &spaced.join("known_hosts").display().to_string(),
        )
        .replacen(
            "\n    }",
            &format!("\n        jump = \"{}@127.0.0.1:{}\"\n    }}", server.user, server.port),
            1,
        );
    let text = format!(
        "runbook \"Spaced\" {{\n    {host}\n    step there \"There\" on box {{\n        run `true`\n        timeout 1m\n    }}\n}}\n"
    );
    let test = test.file("spaced.runbook", text);
    test.run_with(&["drill", "spaced.runbook", "--state-dir", "state"]).expect_code(0);

    let pwned = test.path().join("pwned");
    let text = format!(
        "runbook \"Options\" {{\n    param opts = \"\" \"More options\"\n    {}\n    step there \"There\" on box {{\n        run `true`\n        timeout 1m\n    }}\n}}\n",
        server.host("box").replacen("\n    }", "\n        options = opts\n    }", 1)
    );
    let test = test.file("options.runbook", text);
    let outcome = test.run_with(&[
        "drill",
        "options.runbook",
        "--state-dir",
        "state",
        "-p",
        &format!("opts=ProxyCommand touch {} #=x", pwned.display()),
    ]);
    outcome.expect_code(1);
    assert!(
        outcome.stderr.contains("is not one: write options as Key=Value"),
        "{}",
        outcome.stderr
    );
    assert!(!pwned.exists(), "an option ran a command here");
}
