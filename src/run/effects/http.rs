//! Plain HTTP for notifications and for `http(url)` in checks: a timeout on everything,
//! retries for notifications, and response bodies capped in size.

use crate::run::failure::{Failure, Kind};
use std::time::Duration;

pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) body: String,
}

/// One HTTP client's settings for everything we send: a bound on the whole request, statuses
/// as answers rather than errors, and who is asking.
pub(crate) fn agent(timeout: Duration) -> ureq::Agent {
    agent_trusting(timeout, None)
}

/// [`agent`], trusting only these certificate authorities over HTTPS (a store with a private
/// CA) instead of the usual public ones.
pub(crate) fn agent_trusting(timeout: Duration, authorities: Option<&[ureq::tls::Certificate<'static>]>) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .user_agent(concat!("runbook/", env!("CARGO_PKG_VERSION")));
    if let Some(authorities) = authorities {
        config = config.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::new_with_certs(authorities))
                .build(),
        );
    }
    config.build().into()
}

pub(crate) fn get(url: &str, headers: &[(String, String)], timeout: Duration) -> Result<Response, Failure> {
    let mut request = agent(timeout).get(url);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let mut response = request.call().map_err(|e| Failure::new(Kind::Network, describe(&e)))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(1 << 20)
        .read_to_string()
        .unwrap_or_default();
    Ok(Response { status, body })
}

/// POSTs JSON, trying up to three times when the network or the server (5xx, 429) fails.
pub(crate) fn post_json(url: &str, payload: &serde_json::Value, timeout: Duration) -> Result<(), Failure> {
    send(Method::Post, url, "application/json", &payload.to_string(), timeout)
}

/// PUTs a text body (Prometheus' text format to a Pushgateway), retried as [`post_json`] is.
pub(crate) fn put(url: &str, content_type: &str, body: &str, timeout: Duration) -> Result<(), Failure> {
    send(Method::Put, url, content_type, body, timeout)
}

#[derive(Clone, Copy)]
enum Method {
    Post,
    Put,
}

fn send(method: Method, url: &str, content_type: &str, body: &str, timeout: Duration) -> Result<(), Failure> {
    let agent = agent(timeout);
    let mut last_error = String::new();
    for attempt in 0..3 {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(500 * attempt));
        }
        let sent = match method {
            Method::Post => agent.post(url).header("Content-Type", content_type).send(body),
            Method::Put => agent.put(url).header("Content-Type", content_type).send(body),
        };
        match sent {
            Ok(mut response) => {
                let status = response.status().as_u16();
                if (200..300).contains(&status) {
                    return Ok(());
                }
                let text = response.body_mut().with_config().limit(4096).read_to_string().unwrap_or_default();
                last_error = format!(
                    "the server answered HTTP {status}{}",
                    if text.trim().is_empty() {
                        String::new()
                    } else {
                        format!(": {}", text.trim())
                    }
                );
                if status != 429 && status < 500 {
                    break;
                }
            }
            Err(error) => last_error = describe(&error),
        }
    }
    Err(Failure::new(Kind::Network, last_error))
}

fn describe(error: &ureq::Error) -> String {
    match error {
        ureq::Error::Timeout(_) => "the request timed out".into(),
        ureq::Error::Io(io) => crate::io_error_words(io),
        other => other.to_string(),
    }
}
