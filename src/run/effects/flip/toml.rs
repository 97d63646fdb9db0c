//! TOML files, edited with toml_edit: comments and layout kept, a value keeps its type.

use crate::run::failure::{Failure, Kind};

/// The new value in the type the old one had (a port stays a number), or a string.
fn typed_toml(old: Option<&toml_edit::Value>, value: &str) -> toml_edit::Item {
    let as_integer = || value.parse::<i64>().ok().map(toml_edit::value);
    let as_float = || value.parse::<f64>().ok().map(toml_edit::value);
    let as_bool = || value.parse::<bool>().ok().map(toml_edit::value);
    let typed = match old {
        Some(toml_edit::Value::Integer(_)) => as_integer(),
        Some(toml_edit::Value::Float(_)) => as_float(),
        Some(toml_edit::Value::Boolean(_)) => as_bool(),
        Some(_) => None,
        None => as_integer().or_else(as_bool),
    };
    typed.unwrap_or_else(|| toml_edit::value(value))
}

pub(super) fn set(text: &str, key: &str, value: &str) -> Result<(String, Option<String>), Failure> {
    let mut document: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| Failure::new(Kind::Change, format!("the file is not valid TOML: {e}")))?;
    let path: Vec<&str> = key.split('.').collect();
    let (last, parents) = path.split_last().expect("a key has one part at least");
    let mut table = document.as_table_mut() as &mut dyn toml_edit::TableLike;
    for part in parents {
        let entry = table.entry(part).or_insert(toml_edit::Item::Table(toml_edit::Table::new()));
        table = entry
            .as_table_like_mut()
            .ok_or_else(|| Failure::new(Kind::Change, format!("`{part}` in {key} is not a table")))?;
    }
    let old = table.get(last).and_then(|item| item.as_value()).map(|v| match v.as_str() {
        Some(s) => s.to_string(),
        None => v.to_string().trim().to_string(),
    });
    let mut new_value = typed_toml(table.get(last).and_then(|item| item.as_value()), value);
    if let (Some(item), Some(new)) = (table.get(last), new_value.as_value_mut()) {
        if let Some(existing) = item.as_value() {
            *new.decor_mut() = existing.decor().clone();
        }
    }
    table.insert(last, new_value);
    Ok((document.to_string(), old))
}

/// The file without `key`, every comment and layout kept.
pub(super) fn remove(text: &str, key: &str) -> Result<String, Failure> {
    let mut document: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| Failure::new(Kind::Change, format!("the file is not valid TOML: {e}")))?;
    let path: Vec<&str> = key.split('.').collect();
    let (last, parents) = path.split_last().expect("a key has one part at least");
    let mut table = Some(document.as_table_mut() as &mut dyn toml_edit::TableLike);
    for part in parents {
        table = table.and_then(|t| t.get_mut(part)).and_then(|item| item.as_table_like_mut());
    }
    if let Some(table) = table {
        table.remove(last);
    }
    Ok(document.to_string())
}
