//! `update` with no field flag: the record's editable fields as TOML in `$EDITOR`.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Ctx;
use crate::{Error, ErrorKind, Result};

/// Edits `current` and returns only the fields that changed (others `None`), or `None` when
/// nothing changed.
pub fn edit<T: Serialize + DeserializeOwned + Default>(
    ctx: &Ctx,
    what: &str,
    current: &T,
    flags_hint: &str,
) -> Result<Option<T>> {
    let text = toml::to_string(current).map_err(|e| Error::internal(format!("cannot show {what} as TOML: {e}")))?;
    let header = format!("# Edit {what}, save and quit. An emptied optional field is cleared.\n");
    let Some(edited) = ctx.prompt.edit_toml(&format!("{header}{text}"), flags_hint)? else {
        return Ok(None);
    };
    let new: toml::Table = toml::from_str(&edited)
        .map_err(|e| Error::new(ErrorKind::Invalid, format!("the edited {what} is not valid TOML: {}", e.message())))?;
    let old: toml::Table = toml::from_str(&text).map_err(|e| Error::internal(e.to_string()))?;
    let mut changed = toml::Table::new();
    for (k, v) in &new {
        if old.get(k) != Some(v) {
            changed.insert(k.clone(), v.clone());
        }
    }
    for k in old.keys().filter(|k| !new.contains_key(*k)) {
        changed.insert(k.clone(), toml::Value::String(String::new()));
    }
    if changed.is_empty() {
        return Ok(None);
    }
    let patch = T::deserialize(toml::Value::Table(changed))
        .map_err(|e| Error::new(ErrorKind::Invalid, format!("the edited {what}: {}", e.message())))?;
    Ok(Some(patch))
}
