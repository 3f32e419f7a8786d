//! `users/me/`, `users/me/projects/` and `billing/computeprices/`.

use axum::response::Response;
use serde_json::{Value, json};

use crate::catalogue;
use crate::page::PageReq;
use crate::routes::ok;
use crate::state::{OWNER, Shared};

/// The walltime cap every fake account starts with, in hours.
pub const DEFAULT_MAX_JOB_HOURS: u32 = 72;

/// The account's settings.
pub struct AccountState {
    pub max_job_hours: u32,
    /// `(id, name)` of each project.
    pub projects: Vec<(String, String)>,
}

impl Default for AccountState {
    fn default() -> Self {
        AccountState {
            max_job_hours: DEFAULT_MAX_JOB_HOURS,
            projects: vec![
                ("pRjCfd".to_owned(), "CFD studies".to_owned()),
                ("pRjFea".to_owned(), "Crash and FEA".to_owned()),
            ],
        }
    }
}

/// GET users/me/
pub fn me(s: &Shared) -> Response {
    ok(json!({
        "id": "uSrFk",
        "email": OWNER,
        "firstName": "Fake",
        "lastName": "User",
        "maxJobHours": s.pipeline.account.max_job_hours,
        "isVerified": true,
    }))
}

/// GET users/me/projects/
pub fn projects(s: &Shared, path: &str, query: Option<&str>) -> Response {
    let items = s
        .pipeline
        .account
        .projects
        .iter()
        .map(|(id, name)| json!({ "id": id, "name": name, "description": "" }))
        .collect();
    match PageReq::parse(s, path, query) {
        Ok(req) => req.respond(items),
        Err(resp) => *resp,
    }
}

/// GET billing/computeprices/ (a bare list)
pub fn compute_prices() -> Response {
    let prices: Vec<Value> = catalogue::core_types()
        .iter()
        .map(|c| {
            json!({
                "coreType": c["code"],
                "planType": "on-demand",
                "planName": "On Demand",
                "os": "linux",
                "isActive": true,
                "value": { "amount": c["price"], "currency": "USD" },
            })
        })
        .collect();
    ok(Value::Array(prices))
}

impl crate::FakeRescale {
    /// Sets the walltime cap (`maxJobHours`) `users/me/` reports (72 by default).
    pub fn set_max_job_hours(&self, hours: u32) {
        let mut s = crate::state::lock(&self.shared);
        s.pipeline.account.max_job_hours = hours;
        s.changed = true;
        crate::persist::save_if_changed(&mut s);
    }

    /// The ids of the account's projects (`users/me/projects/`).
    pub fn project_ids(&self) -> Vec<String> {
        crate::state::lock(&self.shared)
            .pipeline
            .account
            .projects
            .iter()
            .map(|(id, _)| id.clone())
            .collect()
    }
}
