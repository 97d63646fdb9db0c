//! Notifications over real HTTP, against a server the test starts on 127.0.0.1.

use crate::support::Test;
use crate::support::http::Server;

fn runbook(server: &Server, fail: bool) -> String {
    format!(
        r#"runbook "Orders" {{
    secret pager_key = env("RB_PAGER_KEY")
    channel pager pagerduty {{ routing_key = pager_key url = "{url}/pagerduty" }}
    channel hook  webhook   {{ url = "{url}/hook" timeout = 5s }}
    channel chat  slack     {{ url = "{url}/slack" }}
    step work "Work" {{
        run `{program}`
        notify hook "work done"
    }}
    on failure {{
        notify pager "Orders failed at {{failed.step}}: {{failed.error}}"
        notify chat "Orders failed"
    }}
}}
"#,
        url = server.url,
        program = if fail { "false" } else { "true" }
    )
}

fn drill(test: Test) -> (crate::support::Outcome, serde_json::Value, Test) {
    let test = test
        .args(["drill", "n.runbook", "--state-dir", "state", "--report", "report"])
        .env("RB_PAGER_KEY", "pd-routing-key-1234");
    let outcome = test.run();
    let report = serde_json::from_str(&std::fs::read_to_string(test.path().join("report/report.json")).expect("report")).expect("json");
    (outcome, report, test)
}

#[test]
fn a_failed_drill_pages_and_a_passing_one_does_not() {
    let server = Server::start(&[], "{}");
    let (outcome, _, _) = drill(Test::new().file("n.runbook", runbook(&server, false)));
    outcome.expect_code(0);
    let paths: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/hook"], "a passing drill only sends what its steps say");

    let server = Server::start(&[], "{}");
    let (outcome, report, test) = drill(Test::new().file("n.runbook", runbook(&server, true)));
    let root = test.path();
    outcome.expect_code(1);
    let requests = server.requests();
    let page = requests.iter().find(|r| r.path == "/pagerduty").expect("a page");
    let event: serde_json::Value = serde_json::from_str(&page.body).expect("a JSON event");
    assert_eq!(page.method, "POST");
    assert_eq!(event["routing_key"], "pd-routing-key-1234");
    assert_eq!(event["event_action"], "trigger");
    assert!(
        event["payload"]["summary"]
            .as_str()
            .expect("a summary")
            .starts_with("Orders failed at work: `false` failed"),
        "{event:#}"
    );
    let slack = requests.iter().find(|r| r.path == "/slack").expect("a slack message");
    assert_eq!(slack.body, r#"{"text":"Orders failed"}"#);
    assert!(
        report["notifications"]
            .as_array()
            .expect("notifications")
            .iter()
            .all(|n| n["ok"] == true),
        "{report:#}"
    );

    for file in ["report/report.json", "report/junit.xml"] {
        let text = std::fs::read_to_string(root.join(file)).expect(file);
        assert!(!text.contains("pd-routing-key-1234"), "the routing key leaked into {file}");
    }
    assert!(!outcome.stderr.contains("pd-routing-key-1234"));
}

#[test]
fn a_notification_is_retried_when_the_server_fails() {
    let server = Server::start(&[500, 503], "{}");
    let (outcome, report, _) = drill(Test::new().file("n.runbook", runbook(&server, false)));
    outcome.expect_code(0);
    assert_eq!(server.requests().len(), 3, "two failures, then success");
    assert_eq!(report["notifications"][0]["ok"], true);
}

#[test]
fn an_unreachable_channel_is_reported_and_the_run_goes_on() {
    let server = Server::start(&[], "{}");
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", listener.local_addr().expect("address"))
    };
    let text = runbook(&server, false).replace(&format!("{}/hook", server.url), &format!("{dead}/hook"));
    let (outcome, report, _) = drill(Test::new().file("n.runbook", text));
    outcome.expect_code(0);
    assert!(outcome.stderr.contains("! could not notify hook"), "{}", outcome.stderr);
    assert_eq!(report["notifications"][0]["ok"], false);
    assert_eq!(report["result"]["status"], "passed");
}

#[test]
fn checks_can_call_http() {
    let server = Server::start(&[], r#"{"lag_seconds": 3}"#);
    let text = format!(
        "runbook \"t\" {{\n param health = \"{}/healthz\"\n step s \"S\" {{\n check \"healthy\" {{ http(health).status == 200 }}\n check \"caught up\" {{ http(health).json.lag_seconds < 60 }}\n }}\n}}\n",
        server.url
    );
    let test = Test::new().file("h.runbook", text);
    let outcome = test.args(["drill", "h.runbook", "--state-dir", "state"]).run();
    outcome.expect_code(0);
    assert_eq!(server.requests().len(), 2);
}
