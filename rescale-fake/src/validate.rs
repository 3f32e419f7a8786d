//! Job definition validation with DRF's error tree, nested like the request.

use serde_json::{Map, Value, json};

const REQUIRED: &str = "This field is required.";
const BLANK: &str = "This field may not be blank.";

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

fn err(msg: &str) -> Value {
    json!([msg])
}

/// A required non-blank string.
fn check_string(v: Option<&Value>) -> Option<Value> {
    match v {
        None => Some(err(REQUIRED)),
        Some(Value::Null) => Some(err("This field may not be null.")),
        Some(Value::String(s)) if s.trim().is_empty() => Some(err(BLANK)),
        Some(Value::String(_)) => None,
        Some(_) => Some(err("Not a valid string.")),
    }
}

/// An integer >= 1; `None` is "required" unless `optional`.
fn check_positive(v: Option<&Value>, optional: bool) -> Option<Value> {
    match v {
        None | Some(Value::Null) if optional => None,
        None => Some(err(REQUIRED)),
        Some(Value::Null) => Some(err("This field may not be null.")),
        Some(v) => {
            let n = v
                .as_i64()
                .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
            match n {
                None => Some(err("A valid integer is required.")),
                Some(n) if n < 1 => Some(err("Ensure this value is greater than or equal to 1.")),
                Some(_) => None,
            }
        }
    }
}

fn check_hardware(hw: &Value) -> Map<String, Value> {
    let mut errors = Map::new();
    let Some(hw) = hw.as_object() else {
        errors.insert(
            "non_field_errors".into(),
            err(&format!(
                "Invalid data. Expected a dictionary, but got {}.",
                type_name(hw)
            )),
        );
        return errors;
    };
    match hw.get("coreType") {
        Some(Value::Object(ct)) => {
            if let Some(e) = check_string(ct.get("code")) {
                errors.insert("coreType".into(), json!({ "code": e }));
            }
        }
        other => {
            if let Some(e) = check_string(other) {
                errors.insert("coreType".into(), e);
            }
        }
    }
    if let Some(e) = check_positive(hw.get("coresPerSlot"), false) {
        errors.insert("coresPerSlot".into(), e);
    }
    if let Some(e) = check_positive(hw.get("slots"), true) {
        errors.insert("slots".into(), e);
    }
    errors
}

fn check_analysis(item: &Value) -> Map<String, Value> {
    let mut errors = Map::new();
    let Some(item) = item.as_object() else {
        errors.insert(
            "non_field_errors".into(),
            err(&format!(
                "Invalid data. Expected a dictionary, but got {}.",
                type_name(item)
            )),
        );
        return errors;
    };
    match item.get("analysis") {
        None | Some(Value::Null) => {
            errors.insert("analysis".into(), err(REQUIRED));
        }
        Some(Value::Object(a)) => {
            if let Some(e) = check_string(a.get("code")) {
                errors.insert("analysis".into(), json!({ "code": e }));
            }
        }
        Some(other) => {
            errors.insert(
                "analysis".into(),
                json!({ "non_field_errors": [format!("Invalid data. Expected a dictionary, but got {}.", type_name(other))] }),
            );
        }
    }
    if let Some(e) = check_string(item.get("command")) {
        errors.insert("command".into(), e);
    }
    match item.get("hardware") {
        None | Some(Value::Null) => {
            errors.insert("hardware".into(), err(REQUIRED));
        }
        Some(hw) => {
            let e = check_hardware(hw);
            if !e.is_empty() {
                errors.insert("hardware".into(), Value::Object(e));
            }
        }
    }
    errors
}

/// Validates a job definition. With `partial` (PATCH) only the fields present are checked.
pub fn job(body: &Value, partial: bool) -> Result<(), Value> {
    let Some(body) = body.as_object() else {
        return Err(json!({ "non_field_errors": [format!(
            "Invalid data. Expected a dictionary, but got {}.",
            type_name(body)
        )] }));
    };
    let mut errors = Map::new();
    if (!partial || body.contains_key("name"))
        && let Some(e) = check_string(body.get("name"))
    {
        errors.insert("name".into(), e);
    }
    if !partial || body.contains_key("jobanalyses") {
        match body.get("jobanalyses") {
            None => {
                errors.insert("jobanalyses".into(), err(REQUIRED));
            }
            Some(Value::Array(items)) if items.is_empty() => {
                errors.insert("jobanalyses".into(), err("This list may not be empty."));
            }
            Some(Value::Array(items)) => {
                let per_item: Vec<Map<String, Value>> = items.iter().map(check_analysis).collect();
                if per_item.iter().any(|m| !m.is_empty()) {
                    errors.insert(
                        "jobanalyses".into(),
                        Value::Array(per_item.into_iter().map(Value::Object).collect()),
                    );
                }
            }
            Some(other) => {
                errors.insert(
                    "jobanalyses".into(),
                    json!({ "non_field_errors": [format!(
                        "Expected a list of items but got type \"{}\".",
                        type_name(other)
                    )] }),
                );
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Value::Object(errors))
    }
}
