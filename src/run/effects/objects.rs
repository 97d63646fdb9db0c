//! Backups in object storage: `s3://bucket/key` locations for the functions that look at
//! backups (`exists`, `size`, `age`, `newest`, `count`, `sha256`), read from the buckets the
//! runbook declares. rusty-s3 signs each request; ureq sends it. Nothing here writes.
//!
//! No error says a request's URL: a signed URL carries the access key, percent-encoded where
//! the masker would not know it. Errors name the `s3://` location and what the store said.

use std::collections::HashMap;
use std::io::Read;
use std::time::{Duration, SystemTime};

use rusty_s3::actions::ListObjectsV2;
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use sha2::Digest;

use crate::run::failure::{Failure, Kind};

pub(crate) const SCHEME: &str = "s3://";
/// How long a signed request is valid: long enough for a slow store, short enough not to matter.
const SIGNED_FOR: Duration = Duration::from_secs(300);
const TIMEOUT: Duration = Duration::from_secs(60);
/// A listing stops after this many pages of 1,000: a backup folder that big is a mistake.
const MAX_PAGES: usize = 100;

/// `s3://bucket/key` split into its bucket and its key (which may be empty or a prefix).
pub(crate) fn split(location: &str) -> Option<(&str, &str)> {
    let rest = location.strip_prefix(SCHEME)?;
    Some(rest.split_once('/').unwrap_or((rest, "")))
}

/// A bucket's settings, filled in for this run.
pub(crate) struct Settings {
    pub(crate) endpoint: String,
    pub(crate) region: String,
    pub(crate) keys: Option<(String, String)>,
    /// Temporary credentials' token (`aws sts assume-role`), sent with every request.
    pub(crate) session_token: Option<String>,
    pub(crate) virtual_host: bool,
    /// Who owns the bucket, when the runbook says: two buckets of one account fall together.
    pub(crate) account: Option<String>,
    /// A PEM file of the certificate authorities to trust for the endpoint, in place of the
    /// public ones: a store with a private CA.
    pub(crate) ca_file: Option<String>,
}

struct Store {
    bucket: Bucket,
    credentials: Option<Credentials>,
    agent: ureq::Agent,
    /// The endpoint's host, lowercased.
    host: String,
    account: Option<String>,
}

/// The buckets a run can read, by name. A bucket whose settings could not be read (an unset
/// environment variable) keeps why, for the check that needs it.
#[derive(Default)]
pub(crate) struct Stores {
    known: HashMap<String, Result<Store, Failure>>,
}

/// The run's stores, read by checks and values alike; filled in once the run's secrets are read.
pub(crate) type Shared = std::sync::Arc<std::sync::RwLock<Stores>>;

/// An object: its full location, size and when it was last written.
pub(crate) struct Object {
    pub(crate) location: String,
    pub(crate) size: u64,
    pub(crate) modified: SystemTime,
}

impl Stores {
    pub(crate) fn insert(&mut self, name: &str, settings: Result<Settings, Failure>) {
        let store = settings.and_then(|settings| {
            let endpoint: url::Url = settings
                .endpoint
                .parse()
                .map_err(|e| Failure::new(Kind::Value, format!("the endpoint `{}` is not a URL: {e}", settings.endpoint)))?;
            let style = if settings.virtual_host {
                UrlStyle::VirtualHost
            } else {
                UrlStyle::Path
            };
            let host = endpoint.host_str().unwrap_or_default().to_ascii_lowercase();
            let bucket = Bucket::new(endpoint, style, name.to_string(), settings.region).map_err(|e| {
                Failure::new(
                    Kind::Value,
                    format!("the endpoint `{}` cannot serve a bucket: {e}", settings.endpoint),
                )
            })?;
            let credentials = settings.keys.map(|(key, secret)| match settings.session_token {
                Some(token) => Credentials::new_with_token(key, secret, token),
                None => Credentials::new(key, secret),
            });
            let authorities = settings.ca_file.as_deref().map(authorities).transpose()?;
            Ok(Store {
                bucket,
                credentials,
                agent: super::http::agent_trusting(TIMEOUT, authorities.as_deref()),
                host,
                account: settings.account,
            })
        });
        self.known.insert(name.to_string(), store);
    }

    fn store(&self, bucket: &str) -> Result<&Store, Failure> {
        match self.known.get(bucket) {
            Some(Ok(store)) => Ok(store),
            Some(Err(why)) => Err(why
                .clone()
                .within(Kind::Network, format_args!("the bucket `{bucket}` cannot be read"))),
            None => Err(Failure::new(
                Kind::Value,
                format!("no `bucket \"{bucket}\"` is declared, so {SCHEME}{bucket}/ cannot be read"),
            )),
        }
    }

    /// Whether two bucket locations fall together: the same bucket, or buckets the runbook
    /// says belong to one account. Buckets of one endpoint (all of AWS's in a region) do not,
    /// by that alone.
    pub(crate) fn same_store(&self, a: &str, b: &str) -> Result<bool, Failure> {
        let (bucket_a, _) = split(a).ok_or_else(|| not_a_location(a))?;
        let (bucket_b, _) = split(b).ok_or_else(|| not_a_location(b))?;
        if bucket_a == bucket_b {
            return Ok(true);
        }
        let (store_a, store_b) = (self.store(bucket_a)?, self.store(bucket_b)?);
        let one_account = matches!((&store_a.account, &store_b.account), (Some(x), Some(y)) if x == y);
        if one_account {
            return Ok(true);
        }
        if is_shared_cloud(&store_a.host) || is_shared_cloud(&store_b.host) {
            return Ok(false);
        }
        // One self-hosted store (a MinIO, a Ceph gateway) is one disaster, whatever its buckets,
        // by whichever names or addresses its endpoints reach it.
        if store_a.host == store_b.host || (is_this_machine(&store_a.host)? && is_this_machine(&store_b.host)?) {
            return Ok(true);
        }
        let (at_a, at_b) = (addresses(&store_a.host)?, addresses(&store_b.host)?);
        Ok(at_a.iter().any(|ip| at_b.contains(ip)))
    }

    /// Whether the bucket's store runs on this machine (a MinIO beside the database), so a
    /// disaster that takes the machine takes the bucket too.
    pub(crate) fn on_this_machine(&self, location: &str) -> Result<bool, Failure> {
        let (bucket, _) = split(location).ok_or_else(|| not_a_location(location))?;
        is_this_machine(&self.store(bucket)?.host)
    }

    /// The objects directly inside `folder` (`s3://bucket/nightly/`), as a folder on disk
    /// would list its files: not those further down.
    pub(crate) fn list(&self, folder: &str) -> Result<Vec<Object>, Failure> {
        let (bucket, prefix) = split(folder).ok_or_else(|| not_a_location(folder))?;
        let prefix = if prefix.is_empty() || prefix.ends_with('/') {
            prefix.to_string()
        } else {
            format!("{prefix}/")
        };
        let inside = format!("{SCHEME}{bucket}/{prefix}");
        let found = self.objects(bucket, &prefix)?;
        // Not the folder's own marker object (`nightly/`), nor what is in folders further down.
        Ok(found
            .into_iter()
            .filter(|o| {
                o.location
                    .strip_prefix(&inside)
                    .is_some_and(|name| !name.is_empty() && !name.contains('/'))
            })
            .collect())
    }

    /// The object at `location`, or `None` when there is none.
    pub(crate) fn object(&self, location: &str) -> Result<Option<Object>, Failure> {
        let (bucket, key) = split(location).ok_or_else(|| not_a_location(location))?;
        if key.is_empty() || key.ends_with('/') {
            return Err(Failure::new(Kind::File, format!("{location} is a folder, not an object")));
        }
        Ok(self.objects(bucket, key)?.into_iter().find(|o| o.location == location))
    }

    /// The SHA-256 of the object's content, read as it streams.
    pub(crate) fn sha256(&self, location: &str) -> Result<String, Failure> {
        let (bucket, key) = split(location).ok_or_else(|| not_a_location(location))?;
        let store = self.store(bucket)?;
        let url = store.bucket.get_object(store.credentials.as_ref(), key).sign(SIGNED_FOR);
        let mut response = store.agent.get(url.as_str()).call().map_err(|e| unreachable(location, &e))?;
        refused(location, response.status().as_u16(), &mut response)?;
        let mut hasher = sha2::Sha256::new();
        let mut reader = response.body_mut().as_reader();
        let mut buffer = vec![0; 1 << 16];
        loop {
            match reader.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => hasher.update(&buffer[..n]),
                Err(error) => return Err(Failure::new(Kind::Network, format!("{location}: the download broke off: {error}"))),
            }
        }
        Ok(format!("{:x}", hasher.finalize()))
    }

    /// Every object whose key starts with `prefix`, over as many pages as the store gives.
    fn objects(&self, bucket: &str, prefix: &str) -> Result<Vec<Object>, Failure> {
        let store = self.store(bucket)?;
        let place = format!("{SCHEME}{bucket}/{prefix}");
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut action = ListObjectsV2::new(&store.bucket, store.credentials.as_ref());
            if !prefix.is_empty() {
                action.with_prefix(prefix);
            }
            if let Some(token) = &token {
                action.with_continuation_token(token.as_str());
            }
            let url = action.sign(SIGNED_FOR);
            let mut response = store.agent.get(url.as_str()).call().map_err(|e| unreachable(&place, &e))?;
            refused(&place, response.status().as_u16(), &mut response)?;
            let text = response
                .body_mut()
                .with_config()
                .limit(16 << 20)
                .read_to_string()
                .map_err(|e| Failure::new(Kind::Network, format!("{place}: the listing broke off: {e}")))?;
            let page = ListObjectsV2::parse_response(&text)
                .map_err(|e| Failure::new(Kind::Network, format!("{place}: the store's listing is not S3's: {e}")))?;
            for object in page.contents {
                let modified = crate::clock::parse_moment(&object.last_modified)
                    .map_err(|why| Failure::new(Kind::Network, format!("{place}: {why}")))?;
                found.push(Object {
                    location: format!("{SCHEME}{bucket}/{}", object.key),
                    size: object.size,
                    modified,
                });
            }
            match page.next_continuation_token {
                Some(next) => token = Some(next),
                // A store that says the listing goes on but gives no way on would make a part
                // look like the whole folder.
                None if text.contains("<IsTruncated>true</IsTruncated>") => {
                    return Err(Failure::new(
                        Kind::Network,
                        format!("{place}: the store cut the listing short and gave no way to go on"),
                    ));
                }
                None => return Ok(found),
            }
        }
        Err(Failure::new(
            Kind::File,
            format!("{place} holds more than {} objects; point at a narrower prefix", MAX_PAGES * 1000),
        ))
    }
}

/// Whether an endpoint's host is this machine: loopback, unspecified, its own name (short or
/// qualified), or a name or address that reaches one of this machine's own addresses (a MinIO
/// beside the database, addressed by the machine's LAN address or a DNS name for it). A name
/// that does not resolve leaves it unknown: an error, never a "no".
pub(crate) fn is_this_machine(host: &str) -> Result<bool, Failure> {
    let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let own_name = !name.is_empty() && (host == name || host.split('.').next() == Some(name.as_str()));
    if own_name || host == "localhost" || host.ends_with(".localhost") {
        return Ok(true);
    }
    if is_shared_cloud(&host) {
        return Ok(false);
    }
    let own = own_addresses();
    Ok(addresses(&host)?.iter().any(|ip| is_local(*ip) || own.contains(ip)))
}

fn is_local(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V6(v6) => v6.is_loopback() || v6.is_unspecified() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        ip => ip.is_loopback() || ip.is_unspecified(),
    }
}

/// The addresses a host stands for: itself when it is one, else what the resolver says.
fn addresses(host: &str) -> Result<Vec<std::net::IpAddr>, Failure> {
    use std::net::ToSocketAddrs;
    let host = host.trim_matches(['[', ']']);
    if let Ok(ip) = host.parse() {
        return Ok(vec![ip]);
    }
    let found = (host, 0).to_socket_addrs().map_err(|e| {
        Failure::new(
            Kind::Network,
            format!("cannot tell where the store at `{host}` runs: its name does not resolve ({e})"),
        )
    })?;
    Ok(found.map(|a| a.ip()).collect())
}

/// This machine's own addresses, from the kernel's tables: IPv4 from the local routes of
/// `/proc/net/fib_trie`, IPv6 from `/proc/net/if_inet6`.
fn own_addresses() -> Vec<std::net::IpAddr> {
    let mut own = Vec::new();
    let trie = std::fs::read_to_string("/proc/net/fib_trie").unwrap_or_default();
    let mut lines = trie.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(address) = line.trim_start().strip_prefix("|-- ") else {
            continue;
        };
        let local = lines.peek().is_some_and(|next| next.trim() == "/32 host LOCAL");
        if let (true, Ok(ip)) = (local, address.trim().parse::<std::net::Ipv4Addr>()) {
            own.push(std::net::IpAddr::V4(ip));
        }
    }
    let inet6 = std::fs::read_to_string("/proc/net/if_inet6").unwrap_or_default();
    for line in inet6.lines() {
        let Some(hex) = line.split_whitespace().next() else { continue };
        if let Ok(bits) = u128::from_str_radix(hex, 16) {
            own.push(std::net::IpAddr::V6(std::net::Ipv6Addr::from(bits)));
        }
    }
    own.sort();
    own.dedup();
    own
}

/// The clouds whose one endpoint serves every customer's buckets: a shared host says nothing
/// of who owns a bucket.
fn is_shared_cloud(host: &str) -> bool {
    [
        "amazonaws.com",
        "googleapis.com",
        "r2.cloudflarestorage.com",
        "digitaloceanspaces.com",
        "backblazeb2.com",
        "wasabisys.com",
        "linodeobjects.com",
        "scw.cloud",
        "ovh.net",
        "aliyuncs.com",
    ]
    .iter()
    .any(|cloud| host == *cloud || host.ends_with(&format!(".{cloud}")))
}

/// The certificate authorities in a PEM file, for a bucket's `ca_file`.
fn authorities(path: &str) -> Result<Vec<ureq::tls::Certificate<'static>>, Failure> {
    let pem = std::fs::read(path).map_err(|e| {
        Failure::new(
            Kind::File,
            format!("the CA file {path} cannot be read: {}", crate::io_error_words(&e)),
        )
    })?;
    let mut found = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(certificate)) => found.push(certificate),
            Ok(_) => {}
            Err(e) => return Err(Failure::new(Kind::File, format!("the CA file {path} is not PEM: {e}"))),
        }
    }
    if found.is_empty() {
        return Err(Failure::new(
            Kind::File,
            format!("the CA file {path} holds no certificate (a PEM file of `-----BEGIN CERTIFICATE-----` blocks)"),
        ));
    }
    Ok(found)
}

fn not_a_location(text: &str) -> Failure {
    Failure::new(Kind::Value, format!("`{text}` is not an s3://bucket/key location"))
}

/// The network's error in words, without the signed URL.
fn unreachable(place: &str, error: &ureq::Error) -> Failure {
    // rustls' refusals reach here as TLS or as I/O errors, by where the handshake was.
    let said = error.to_string();
    let refused_certificate = said.to_ascii_lowercase().contains("invalid peer certificate");
    let why = match error {
        _ if said.to_ascii_lowercase().contains("unknownissuer") => {
            "the TLS handshake failed: its certificate is signed by a CA this run does not trust (give the bucket the CA's certificate with `ca_file`)".to_string()
        }
        _ if refused_certificate => format!("the TLS handshake failed: {said}"),
        ureq::Error::Timeout(_) => "the request timed out".to_string(),
        ureq::Error::Io(io) => crate::io_error_words(io),
        ureq::Error::HostNotFound => "its host was not found".to_string(),
        ureq::Error::ConnectionFailed => "the connection failed".to_string(),
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => "the TLS handshake failed".to_string(),
        _ => "the request failed".to_string(),
    };
    Failure::new(Kind::Network, format!("{place}: the store cannot be reached: {why}"))
}

/// A status other than 2xx as a failure, with S3's error code and message from the body.
fn refused(place: &str, status: u16, response: &mut ureq::http::Response<ureq::Body>) -> Result<(), Failure> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let body = response
        .body_mut()
        .with_config()
        .limit(64 << 10)
        .read_to_string()
        .unwrap_or_default();
    let element = |name: &str| {
        let open = format!("<{name}>");
        let start = body.find(&open)? + open.len();
        let end = body[start..].find(&format!("</{name}>"))? + start;
        Some(body[start..end].to_string())
    };
    let said = match (element("Code"), element("Message")) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code,
        _ => format!("HTTP {status}"),
    };
    Err(Failure::new(Kind::Network, format!("{place}: the store refused: {said}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_a_location_into_bucket_and_key() {
        assert_eq!(split("s3://orders-backups/nightly/a.db"), Some(("orders-backups", "nightly/a.db")));
        assert_eq!(split("s3://orders-backups"), Some(("orders-backups", "")));
        assert_eq!(split("s3://orders-backups/"), Some(("orders-backups", "")));
        assert_eq!(split("/srv/backups"), None);
    }

    #[test]
    fn knows_this_machine_by_its_names_and_addresses() {
        assert!(own_addresses().contains(&std::net::IpAddr::from([127, 0, 0, 1])));
        for here in ["127.0.0.1", "[::1]", "localhost", "0.0.0.0"] {
            assert!(is_this_machine(here).expect(here), "{here}");
        }
        // TEST-NET-2: no machine's own address; a shared cloud's host is never this machine.
        for elsewhere in ["198.51.100.7", "s3.eu-west-1.amazonaws.com"] {
            assert!(!is_this_machine(elsewhere).expect(elsewhere), "{elsewhere}");
        }
        let unknown = is_this_machine("no-such-store.invalid").expect_err("an error, not a no");
        assert!(unknown.to_string().contains("does not resolve"), "{unknown}");
    }

    #[test]
    fn an_undeclared_bucket_says_how_to_declare_it() {
        let error = Stores::default().list("s3://orders-backups/nightly").err().expect("refused");
        assert!(error.to_string().contains("no `bucket \"orders-backups\"` is declared"), "{error}");
    }

    #[test]
    fn a_bucket_that_could_not_be_read_keeps_why() {
        let mut stores = Stores::default();
        stores.insert(
            "orders-backups",
            Err(Failure::new(Kind::Value, "the environment variable S3_SECRET is not set")),
        );
        let error = stores.object("s3://orders-backups/a.db").err().expect("refused");
        assert!(error.to_string().contains("S3_SECRET is not set"), "{error}");
        stores.insert(
            "other-backups",
            Ok(Settings {
                endpoint: "ftp://example.com".into(),
                region: "us-east-1".into(),
                keys: None,
                session_token: None,
                virtual_host: false,
                account: None,
                ca_file: None,
            }),
        );
        let error = stores.object("s3://other-backups/a.db").err().expect("refused");
        assert!(error.to_string().contains("cannot serve a bucket"), "{error}");
    }
}
