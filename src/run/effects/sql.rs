//! Read-only SQL against the engines a restore is verified on: SQLite files, PostgreSQL
//! servers and MariaDB/MySQL servers, chosen by the connection text. Every row comes back as a JSON object of column to
//! value, whatever the engine, so a check sees numbers, text, booleans and NULL the same way.
//! A new engine's queries belong here, behind the same `query`.

use crate::run::failure::{Failure, Kind};
use std::path::Path;

/// More rows than this is a mistake in the check: count them in SQL instead.
const MAX_ROWS: usize = 10_000;

/// What a query gave: its rows, and how many columns it selected (two columns of the same
/// name are one key of a row's object, but still two columns).
pub(crate) struct Rows {
    pub(crate) rows: Vec<serde_json::Value>,
    pub(crate) columns: usize,
}

/// Runs `query` read-only on `conn`: a `postgres://`, `mysql://` or `mariadb://` URL, or a
/// SQLite file's path.
pub(crate) fn query(conn: &str, query: &str) -> Result<Rows, Failure> {
    let rows = if conn.starts_with("postgres://") || conn.starts_with("postgresql://") {
        postgres(conn, query)?
    } else if let Some(rest) = conn.strip_prefix("mysql://").or_else(|| conn.strip_prefix("mariadb://")) {
        mysql(rest, query)?
    } else {
        sqlite(conn, query)?
    };
    if rows.rows.len() > MAX_ROWS {
        return Err(Failure::new(
            Kind::Query,
            "the query returned more than 10,000 rows; count them in SQL instead",
        ));
    }
    Ok(rows)
}

fn sqlite(conn: &str, query: &str) -> Result<Rows, Failure> {
    use rusqlite::types::ValueRef;
    if !Path::new(conn).exists() {
        return Err(Failure::new(Kind::Query, format!("{conn}: no such database file")));
    }
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let db = rusqlite::Connection::open_with_flags(conn, flags).map_err(|e| Failure::new(Kind::Query, format!("{conn}: {e}")))?;
    let mut statement = db.prepare(query).map_err(|e| Failure::new(Kind::Query, e.to_string()))?;
    let columns: Vec<String> = statement.column_names().iter().map(|c| c.to_string()).collect();
    let mut rows = statement.query([]).map_err(|e| Failure::new(Kind::Query, e.to_string()))?;
    let mut found = Vec::new();
    while let Some(row) = rows.next().map_err(|e| Failure::new(Kind::Query, e.to_string()))? {
        let mut object = serde_json::Map::new();
        for (index, column) in columns.iter().enumerate() {
            let value = match row.get_ref(index).map_err(|e| Failure::new(Kind::Query, e.to_string()))? {
                ValueRef::Null => serde_json::Value::Null,
                ValueRef::Integer(i) => i.into(),
                ValueRef::Real(f) => f.into(),
                ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
                // A blob is shown by its size: its bytes mean nothing in a check.
                ValueRef::Blob(b) => (b.len() as i64).into(),
            };
            object.insert(column.clone(), value);
        }
        found.push(serde_json::Value::Object(object));
        if found.len() > MAX_ROWS {
            break;
        }
    }
    Ok(Rows {
        rows: found,
        columns: columns.len(),
    })
}

/// Each row comes back as JSON (`to_jsonb`), so numbers, booleans, text and NULL keep their
/// types; a statement that is not a SELECT (`SHOW`) falls back to text.
fn postgres(conn: &str, query: &str) -> Result<Rows, Failure> {
    let mut config: postgres::Config = conn
        .parse()
        .map_err(|e| Failure::new(Kind::Query, format!("not a PostgreSQL connection string: {e}")))?;
    config.connect_timeout(std::time::Duration::from_secs(10));
    config.options("-c statement_timeout=30000 -c default_transaction_read_only=on");
    let mut client = config
        .connect(postgres::NoTls)
        .map_err(|e| Failure::new(Kind::Query, format!("cannot connect: {}", postgres_error(&e))))?;
    let wrapped = format!(
        "select to_jsonb(runbook_row) from ({}) as runbook_row limit {}",
        query.trim().trim_end_matches(';'),
        MAX_ROWS + 1
    );
    if let Ok(rows) = client.query(wrapped.as_str(), &[]) {
        let rows: Vec<serde_json::Value> = rows.iter().map(|row| row.get::<_, serde_json::Value>(0)).collect();
        // `to_jsonb` keeps one key per name, as PostgreSQL's own output names them.
        let columns = rows.first().and_then(|row| row.as_object()).map_or(0, serde_json::Map::len);
        return Ok(Rows { rows, columns });
    }
    // One statement only: several in one string could end the read-only transaction
    // (`commit; set transaction read write; delete ...`). PostgreSQL prepares nothing but a
    // single statement, so preparing it first proves there is one.
    client
        .prepare(query)
        .map_err(|e| Failure::new(Kind::Query, format!("{} (sql() runs one statement)", postgres_error(&e))))?;
    let messages = client
        .simple_query(query)
        .map_err(|e| Failure::new(Kind::Query, postgres_error(&e)))?;
    let mut columns = 0;
    let rows = messages
        .iter()
        .filter_map(|message| match message {
            postgres::SimpleQueryMessage::Row(row) => {
                columns = row.columns().len();
                let object: serde_json::Map<String, serde_json::Value> = row
                    .columns()
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let value = row
                            .get(i)
                            .map_or(serde_json::Value::Null, |v| serde_json::Value::String(v.to_string()));
                        (c.name().to_string(), value)
                    })
                    .collect();
                Some(serde_json::Value::Object(object))
            }
            _ => None,
        })
        .collect();
    Ok(Rows { rows, columns })
}

/// MariaDB and MySQL, over the text protocol (any statement, `SHOW` too), each value typed by
/// its column: integers and decimals as numbers, NULL as null, the rest as text. The session
/// is read-only, and a statement is stopped after 30 s.
fn mysql(rest: &str, query: &str) -> Result<Rows, Failure> {
    use mysql::consts::ColumnType;
    use mysql::prelude::Queryable;
    let opts = mysql::Opts::from_url(&format!("mysql://{rest}"))
        .map_err(|e| Failure::new(Kind::Query, format!("not a MariaDB/MySQL connection URL: {e}")))?;
    let opts = mysql::OptsBuilder::from_opts(opts)
        .tcp_connect_timeout(Some(std::time::Duration::from_secs(10)))
        .read_timeout(Some(std::time::Duration::from_secs(40)))
        .write_timeout(Some(std::time::Duration::from_secs(40)));
    let mut conn = mysql::Conn::new(opts).map_err(|e| Failure::new(Kind::Query, format!("cannot connect: {}", mysql_error(&e))))?;
    let error = |e: mysql::Error| Failure::new(Kind::Query, mysql_error(&e));
    conn.query_drop("set session transaction read only").map_err(error)?;
    // MariaDB says it in seconds for every statement; MySQL in milliseconds, for SELECTs.
    if conn.query_drop("set session max_statement_time = 30").is_err() {
        conn.query_drop("set session max_execution_time = 30000").map_err(error)?;
    }
    // One statement only: the text protocol runs several in one string, and a second could
    // make the session writable again (`set session transaction read write; delete ...`).
    // The server prepares nothing but a single statement, so preparing it first proves there
    // is one.
    let statement = conn
        .prep(query)
        .map_err(|e| Failure::new(Kind::Query, format!("{} (sql() runs one statement)", mysql_error(&e))))?;
    conn.close(statement).map_err(error)?;
    let mut result = conn.query_iter(query).map_err(error)?;
    let mut found = Vec::new();
    let mut columns = 0;
    if let Some(set) = result.iter() {
        columns = set.columns().as_ref().len();
        for row in set {
            let row = row.map_err(error)?;
            let mut object = serde_json::Map::new();
            for (index, column) in row.columns_ref().iter().enumerate() {
                let value = match row.as_ref(index) {
                    None | Some(mysql::Value::NULL) => serde_json::Value::Null,
                    Some(mysql::Value::Bytes(bytes)) => {
                        let text = String::from_utf8_lossy(bytes);
                        let number = |text: &str| -> Option<serde_json::Value> {
                            match column.column_type() {
                                ColumnType::MYSQL_TYPE_TINY
                                | ColumnType::MYSQL_TYPE_SHORT
                                | ColumnType::MYSQL_TYPE_INT24
                                | ColumnType::MYSQL_TYPE_LONG
                                | ColumnType::MYSQL_TYPE_LONGLONG
                                | ColumnType::MYSQL_TYPE_YEAR => text
                                    .parse::<i64>()
                                    .map(Into::into)
                                    .or_else(|_| text.parse::<u64>().map(Into::into))
                                    .ok(),
                                ColumnType::MYSQL_TYPE_FLOAT
                                | ColumnType::MYSQL_TYPE_DOUBLE
                                | ColumnType::MYSQL_TYPE_DECIMAL
                                | ColumnType::MYSQL_TYPE_NEWDECIMAL => {
                                    text.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map(Into::into)
                                }
                                _ => None,
                            }
                        };
                        // 63 is the binary character set: a blob is shown by its size, as
                        // SQLite's are; its bytes mean nothing in a check.
                        if column.character_set() == 63 && is_blob(column.column_type()) {
                            (bytes.len() as i64).into()
                        } else {
                            number(&text).unwrap_or_else(|| text.into_owned().into())
                        }
                    }
                    Some(other) => other.as_sql(true).trim_matches('\'').to_string().into(),
                };
                object.insert(column.name_str().into_owned(), value);
            }
            found.push(serde_json::Value::Object(object));
            if found.len() > MAX_ROWS {
                break;
            }
        }
    }
    Ok(Rows { rows: found, columns })
}

fn is_blob(column: mysql::consts::ColumnType) -> bool {
    use mysql::consts::ColumnType;
    matches!(
        column,
        ColumnType::MYSQL_TYPE_TINY_BLOB
            | ColumnType::MYSQL_TYPE_MEDIUM_BLOB
            | ColumnType::MYSQL_TYPE_LONG_BLOB
            | ColumnType::MYSQL_TYPE_BLOB
            | ColumnType::MYSQL_TYPE_VAR_STRING
            | ColumnType::MYSQL_TYPE_STRING
            | ColumnType::MYSQL_TYPE_VARCHAR
    )
}

/// What the server said, without the driver's framing; a password in the URL never shows.
fn mysql_error(error: &mysql::Error) -> String {
    match error {
        mysql::Error::MySqlError(server) => server.message.clone(),
        mysql::Error::UrlError(url) => format!("not a MariaDB/MySQL connection URL: {url}"),
        other => other.to_string(),
    }
}

fn postgres_error(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => db.message().to_string(),
        None => error.to_string(),
    }
}
