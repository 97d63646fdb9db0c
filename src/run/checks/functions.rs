//! The functions a check can call, registered on the sandboxed Rhai engine: files, SQLite
//! databases, durations, earlier steps' results, the environment and the clock. Nothing else
//! reaches the outside world from a check.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use rhai::{Dynamic, Engine, EvalAltResult};

use crate::duration::Duration;
use crate::model::checks::sandboxed_engine;
use crate::run::effects::{files, objects};

type Fallible<T> = Result<T, Box<EvalAltResult>>;

/// A failure of the world a check looks at (a file, a query) is the check's error.
impl From<crate::run::failure::Failure> for Box<EvalAltResult> {
    fn from(failure: crate::run::failure::Failure) -> Self {
        failure.to_string().into()
    }
}

fn fail<T>(message: impl Into<String>) -> Fallible<T> {
    Err(message.into().into())
}

/// What checks may know about steps that already ran.
#[derive(Clone, Default)]
pub(crate) struct StepResults {
    inner: Arc<Mutex<HashMap<String, StepResult>>>,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct StepResult {
    /// The tail of what the step's commands printed on stdout (bounded).
    pub(crate) output: String,
    pub(crate) exit_code: Option<i64>,
}

impl StepResults {
    pub(crate) fn record(&self, step: &str, result: StepResult) {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(step.to_string(), result);
    }

    pub(crate) fn get(&self, step: &str) -> Option<StepResult> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).get(step).cloned()
    }
}

/// How much one evaluation of a check may do. Rhai's own operation limit does not reach
/// into closures called by `map` or `filter`, but its progress hook does, so the budget is
/// kept there: operations counted across the whole evaluation, and a wall-clock limit.
#[derive(Clone, Default)]
pub(crate) struct Budget {
    operations: Arc<std::sync::atomic::AtomicU64>,
    started: Arc<Mutex<Option<std::time::Instant>>>,
}

/// The longest a single check may run.
pub(crate) const CHECK_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

impl Budget {
    /// Starts a fresh budget for the next evaluation.
    pub(crate) fn reset(&self) {
        self.operations.store(0, std::sync::atomic::Ordering::Relaxed);
        *self.started.lock().unwrap_or_else(|p| p.into_inner()) = Some(std::time::Instant::now());
    }

    fn spend(&self) -> Option<Dynamic> {
        let spent = self.operations.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if spent > crate::model::checks::MAX_OPERATIONS {
            return Some("the check took too many steps; is it going over something huge?".into());
        }
        if spent % 4096 == 0 {
            let started = *self.started.lock().unwrap_or_else(|p| p.into_inner());
            if started.is_some_and(|at| at.elapsed() > CHECK_TIME_LIMIT) {
                return Some(format!("the check ran for more than {}s", CHECK_TIME_LIMIT.as_secs()).into());
            }
        }
        None
    }
}

/// The engine checks run on: the load-time sandbox plus the drill functions, and the budget
/// each evaluation must be started with.
pub(crate) fn engine(steps: StepResults, stores: &objects::Shared) -> (Engine, Budget) {
    let mut engine = sandboxed_engine();
    let budget = Budget::default();
    let spender = budget.clone();
    engine.on_progress(move |_| spender.spend());
    register_durations(&mut engine);
    register_files(&mut engine, stores);
    engine.register_fn("sql", |conn: &str, query: &str| sql(conn, query));
    engine.register_fn("env", |name: &str| std::env::var(name).unwrap_or_default());
    engine.register_fn("now", || humantime::format_rfc3339_seconds(SystemTime::now()).to_string());
    let outputs = steps.clone();
    engine.register_fn("output", move |step: &str| -> Fallible<String> {
        match outputs.get(step) {
            Some(result) => Ok(result.output),
            None => fail(format!("the step `{step}` has not run yet")),
        }
    });
    engine.register_fn("exit_code", move |step: &str| -> Fallible<i64> {
        match steps.get(step).and_then(|r| r.exit_code) {
            Some(code) => Ok(code),
            None => fail(format!("the step `{step}` has run no command yet")),
        }
    });
    engine.register_fn("json", |text: &str| -> Fallible<Dynamic> {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(value) => Ok(json_to_dynamic(value)),
            Err(error) => fail(format!("this is not JSON: {error}")),
        }
    });
    engine.register_fn("http", |url: &str| http(url, &rhai::Map::new()));
    engine.register_fn("http", |url: &str, headers: rhai::Map| http(url, &headers));
    engine.register_fn("resolve", |host: &str| -> Fallible<String> {
        use std::net::ToSocketAddrs;
        match (host, 0).to_socket_addrs() {
            Ok(mut addresses) => Ok(addresses.next().map(|a| a.ip().to_string()).unwrap_or_default()),
            Err(error) => fail(format!("cannot resolve {host}: {error}")),
        }
    });
    (engine, budget)
}

/// `http(url)` and `http(url, #{ "Authorization": "Bearer ..." })`: a GET with a 10s
/// timeout, giving `status`, `body` and, when the body is JSON, `json`.
fn http(url: &str, headers: &rhai::Map) -> Fallible<rhai::Map> {
    let headers: Vec<(String, String)> = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let response =
        crate::run::effects::http::get(url, &headers, std::time::Duration::from_secs(10)).or_else(|e| fail(format!("{url}: {e}")))?;
    let mut map = rhai::Map::new();
    map.insert("status".into(), Dynamic::from(i64::from(response.status)));
    let json = serde_json::from_str::<serde_json::Value>(&response.body)
        .map(json_to_dynamic)
        .unwrap_or(Dynamic::UNIT);
    map.insert("json".into(), json);
    map.insert("body".into(), response.body.into());
    Ok(map)
}

/// One row of one column gives that value; otherwise an array of rows, each a map.
fn rows_to_dynamic(found: crate::run::effects::sql::Rows) -> Dynamic {
    let mut rows = found.rows;
    if rows.len() == 1 && found.columns == 1 {
        if let Some(map) = rows[0].as_object() {
            if map.len() == 1 {
                let only = rows.pop().and_then(|row| row.as_object().and_then(|m| m.values().next().cloned()));
                return json_to_dynamic(only.unwrap_or(serde_json::Value::Null));
            }
        }
    }
    rows.into_iter().map(json_to_dynamic).collect::<rhai::Array>().into()
}

fn json_to_dynamic(value: serde_json::Value) -> Dynamic {
    match value {
        serde_json::Value::Null => Dynamic::UNIT,
        serde_json::Value::Bool(b) => b.into(),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map_or_else(|| Dynamic::from(n.as_f64().unwrap_or(f64::NAN)), Dynamic::from),
        serde_json::Value::String(s) => s.into(),
        serde_json::Value::Array(items) => items.into_iter().map(json_to_dynamic).collect::<rhai::Array>().into(),
        serde_json::Value::Object(map) => map
            .into_iter()
            .map(|(k, v)| (k.into(), json_to_dynamic(v)))
            .collect::<rhai::Map>()
            .into(),
    }
}

fn register_durations(engine: &mut Engine) {
    engine.register_type_with_name::<Duration>("duration");
    engine.register_fn("duration", |text: &str| -> Fallible<Duration> {
        Duration::parse(text).map_or_else(|| fail(format!("`{text}` is not a duration such as 30m")), Ok)
    });
    engine.register_fn("to_string", |d: &mut Duration| d.to_string());
    engine.register_fn("to_debug", |d: &mut Duration| d.to_string());
    engine.register_fn("seconds", |d: Duration| (d.as_millis() / 1000) as i64);
    engine.register_fn("minutes", |n: i64| Duration::from_secs(n.max(0) as u64 * 60));
    engine.register_fn("<", |a: Duration, b: Duration| a < b);
    engine.register_fn("<=", |a: Duration, b: Duration| a <= b);
    engine.register_fn(">", |a: Duration, b: Duration| a > b);
    engine.register_fn(">=", |a: Duration, b: Duration| a >= b);
    engine.register_fn("==", |a: Duration, b: Duration| a == b);
    engine.register_fn("!=", |a: Duration, b: Duration| a != b);
    engine.register_fn("+", |a: Duration, b: Duration| {
        Duration::from_millis(a.as_millis().saturating_add(b.as_millis()))
    });
    engine.register_fn("-", |a: Duration, b: Duration| {
        Duration::from_millis(a.as_millis().saturating_sub(b.as_millis()))
    });
    engine.register_fn("*", |a: Duration, n: i64| {
        Duration::from_millis(a.as_millis().saturating_mul(n.max(0) as u64))
    });
}

fn register_files(engine: &mut Engine, stores: &objects::Shared) {
    let shared = stores.clone();
    engine.register_fn("exists", move |path: &str| -> Fallible<bool> {
        Ok(files::exists(&read(&shared), path)?)
    });
    let shared = stores.clone();
    engine.register_fn("size", move |path: &str| -> Fallible<i64> {
        Ok(files::stat(&read(&shared), path)?.0 as i64)
    });
    let shared = stores.clone();
    engine.register_fn("age", move |path: &str| -> Fallible<Duration> {
        let (_, modified) = files::stat(&read(&shared), path)?;
        let age = SystemTime::now().duration_since(modified).unwrap_or_default();
        Ok(Duration::from_millis(age.as_millis() as u64))
    });
    let shared = stores.clone();
    engine.register_fn("sha256", move |path: &str| -> Fallible<String> {
        Ok(files::sha256(&read(&shared), path)?)
    });
    let shared = stores.clone();
    engine.register_fn("newest", move |dir: &str, pattern: &str| -> Fallible<String> {
        files::newest(&read(&shared), dir, pattern)
            .map(Option::unwrap_or_default)
            .map_err(Into::into)
    });
    let shared = stores.clone();
    engine.register_fn("count", move |dir: &str, pattern: &str| -> Fallible<i64> {
        Ok(files::matching(&read(&shared), dir, pattern)?.len() as i64)
    });
    engine.register_fn("canonical", |path: &str| -> Fallible<String> {
        std::fs::canonicalize(path)
            .map(|p| p.display().to_string())
            .or_else(|e| fail(format!("{path}: {}", crate::io_error_words(&e))))
    });
    let shared = stores.clone();
    engine.register_fn("same_place", move |a: &str, b: &str| -> Fallible<bool> {
        Ok(files::same_place(&read(&shared), a, b)?)
    });
    engine.register_fn("moment", |text: &str| -> Fallible<i64> {
        let at = crate::clock::parse_moment(text).or_else(|why| fail(why.to_string()))?;
        Ok(at.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64))
    });
    engine.register_fn("read", |path: &str| -> Fallible<String> { read_small(path) });
    engine.register_fn("json", |text: &str| -> Fallible<Dynamic> {
        serde_json::from_str(text)
            .map(json_to_dynamic)
            .or_else(|e| fail(format!("not JSON: {e}")))
    });
    engine.register_fn("inside", |path: &str, dir: &str| files::inside(Path::new(path), Path::new(dir)));
    engine.register_fn("device", |path: &str| -> Fallible<i64> {
        use std::os::unix::fs::MetadataExt;
        if path.is_empty() {
            return fail("no file was given (did `newest` find nothing?)");
        }
        let meta = std::fs::metadata(path).or_else(|error| fail(format!("{path}: {}", crate::io_error_words(&error))))?;
        Ok(meta.dev() as i64)
    });
}

/// A small text file (a tool's JSON report, a manifest), whole: more than 1 MiB is a mistake
/// in the check.
fn read_small(path: &str) -> Fallible<String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).or_else(|e| fail(format!("{path}: {}", crate::io_error_words(&e))))?;
    let mut text = String::new();
    file.take(1 << 20 | 1)
        .read_to_string(&mut text)
        .or_else(|e| fail(format!("{path}: {e}")))?;
    if text.len() > 1 << 20 {
        return fail(format!("{path} is larger than 1 MiB; a check reads small files only"));
    }
    Ok(text)
}

fn read(stores: &objects::Shared) -> std::sync::RwLockReadGuard<'_, objects::Stores> {
    stores.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs a read-only query. One row of one column gives that value; otherwise an array of
/// rows, each a map of column to value.
fn sql(conn: &str, query: &str) -> Fallible<Dynamic> {
    Ok(rows_to_dynamic(crate::run::effects::sql::query(conn, query)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_of_one_column_is_a_value_and_anything_else_rows() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        crate::run::effects::sqlite::execute(&db, "create table t(id, name); insert into t values (1, 'a');").unwrap();
        let db = db.display().to_string();
        assert_eq!(sql(&db, "select count(*) from t").unwrap().as_int().unwrap(), 1);
        // Two columns of the same name are still two columns: rows, not a value.
        let both = sql(&db, "select id, id from t").unwrap();
        assert!(both.is_array(), "{both:?}");
        let error = sql(&db, "select * from missing_table").err().unwrap();
        assert!(error.to_string().contains("no such table"), "{error}");
    }
}
