//! Prices: [`Billing::compute_prices`] (`GET billing/computeprices/`).
//!
//! The endpoint is seen in Rescale's own code, not in its published reference. **The unit
//! of [`PriceValue::amount`] is not documented** (per core-hour is likely, but nothing
//! says so): the crate exposes the amount and its currency and computes no cost from them.
//!
//! ```no_run
//! # async fn demo(client: rescale::Client) -> rescale::Result<()> {
//! for price in client.billing().compute_prices().await? {
//!     if let Some(value) = &price.value {
//!         println!("{:?} {:?}: {:?} {:?}", price.core_type, price.plan_type, value.amount, value.currency);
//!     }
//! }
//! # Ok(()) }
//! ```

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use serde_with::skip_serializing_none;

use crate::client::Client;
use crate::error::Result;
use crate::serde_util::lenient_f64;
use crate::transport::ApiRequest;

/// The billing endpoints. Cheap to create and clone; owns a clone of the [`Client`].
#[derive(Debug, Clone)]
pub struct Billing {
    client: Client,
}

impl Client {
    /// The billing endpoints (compute prices).
    pub fn billing(&self) -> Billing {
        Billing {
            client: self.clone(),
        }
    }
}

impl Billing {
    /// Every compute price (`GET billing/computeprices/`): a bare list, not a page.
    pub async fn compute_prices(&self) -> Result<Vec<ComputePrice>> {
        let url = self
            .client
            .transport
            .endpoint(&["billing", "computeprices"]);
        self.client.transport.json(ApiRequest::get(url)).await
    }
}

/// The price of one core type under one plan. Lenient: every field optional.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ComputePrice {
    /// The core type's code (also read from an object `{"code": ...}`).
    #[serde(default, deserialize_with = "code_or_object")]
    pub core_type: Option<String>,
    /// The plan, e.g. `on-demand`.
    pub plan_type: Option<String>,
    /// The plan's display name.
    pub plan_name: Option<String>,
    /// Operating system, e.g. `linux`.
    pub os: Option<String>,
    /// Whether the price applies now.
    pub is_active: Option<bool>,
    /// The amount and its currency.
    pub value: Option<PriceValue>,
    /// Fields this version of the crate does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An amount of money. The unit it is charged per is not documented.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PriceValue {
    /// The amount (a number, or a text that reads as one). Unit undocumented.
    #[serde(default, deserialize_with = "lenient_f64")]
    pub amount: Option<f64>,
    /// Currency code, e.g. `USD`.
    pub currency: Option<String>,
    /// Fields this version of the crate does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A code sent as `"emerald"` or as `{"code": "emerald", ...}`.
fn code_or_object<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Object(m)) => m.get("code").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    })
}
