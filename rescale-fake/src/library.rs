//! The file library beyond the basics: `PATCH files/{id}/` and `GET files/{id}/lines/`.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::routes::{json_object, ok};
use crate::state::Shared;
use crate::util::{json_response, not_found};

/// PATCH files/{id}/ (`name`, `typeId`)
pub fn patch(s: &mut Shared, id: &str, body: &[u8]) -> Response {
    if !s.files.contains_key(id) {
        return not_found();
    }
    let body = match json_object(body) {
        Ok(b) => b,
        Err(resp) => return *resp,
    };
    let name = match body.get("name") {
        None => None,
        Some(Value::String(n)) if !n.trim().is_empty() => Some(n.clone()),
        Some(_) => return field_error("name", "This field may not be blank."),
    };
    let type_id = match body.get("typeId") {
        None => None,
        Some(v) => match v.as_u64().and_then(|n| u8::try_from(n).ok()) {
            Some(n) if (1..=12).contains(&n) && n != 6 => Some(n),
            _ => return field_error("typeId", &format!("\"{v}\" is not a valid choice.")),
        },
    };
    let file = s.files.get_mut(id).expect("checked");
    if let Some(name) = name {
        file.name = name;
    }
    if let Some(t) = type_id {
        file.type_id = t;
    }
    ok(s.file_json(&s.files[id]))
}

fn field_error(field: &str, message: &str) -> Response {
    json_response(StatusCode::BAD_REQUEST, json!({ field: [message] }))
}

/// GET files/{id}/lines/ (a text file's lines, each with its `\n`)
pub fn lines(s: &Shared, id: &str) -> Response {
    let Some(file) = s.files.get(id) else {
        return not_found();
    };
    let Ok(text) = std::str::from_utf8(&file.data) else {
        return crate::util::detail(StatusCode::BAD_REQUEST, "File is not a text file.");
    };
    ok(json!({ "lines": text.split_inclusive('\n').collect::<Vec<_>>() }))
}
