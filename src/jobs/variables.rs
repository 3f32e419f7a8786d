//! DOE job variables and how their values are generated.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use serde_with::skip_serializing_none;

use crate::error::{Error, Result};
use crate::serde_util::{null_as_default, opt_u32};

string_enum! {
    /// The role of a DOE job variable (`variableType`).
    pub enum VariableType {
        /// An input parameter.
        Param => "Param",
        /// A design variable.
        Design => "Design",
        /// An output.
        Output => "Output",
        /// A case.
        Case => "Case",
        /// A constraint.
        Constraint => "Constraint",
        /// An objective.
        Objective => "Objective",
    }
}

string_enum! {
    /// The name of a value generator (`valueGeneratorType`); [`ValueGenerator`] is the
    /// name with its settings.
    pub enum ValueGeneratorType {
        /// None chosen: the service sends `""`.
        Unspecified => "",
        /// Normal distribution.
        Normal => "Normal",
        /// Uniform distribution.
        Uniform => "Uniform",
        /// Evenly spaced.
        Linspace => "Linspace",
        /// `{minvalue, maxvalue, increment}`.
        FixedRange => "FixedRange",
        /// Triangular distribution.
        Triangular => "Triangular",
        /// Log-normal distribution.
        LogNormal => "LogNormal",
    }
}

/// How a DOE variable's values are generated: `valueGeneratorType` with its
/// `valueGeneratorSettings`.
///
/// Only `FixedRange` has documented settings; the other generators keep theirs as JSON.
///
/// ```
/// use rescale::jobs::ValueGenerator;
/// let sweep = ValueGenerator::fixed_range(1.0, 2.0, 0.5);
/// assert_eq!(sweep.values(), Some(vec![1.0, 1.5, 2.0]));
/// assert_eq!(
///     sweep.settings(),
///     serde_json::json!({"minvalue": 1.0, "maxvalue": 2.0, "increment": 0.5})
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ValueGenerator {
    /// No generator (`""`): the values come from elsewhere, e.g. the parameter file.
    None,
    /// Every value from `min` to `max` (both included) in steps of `increment`.
    FixedRange {
        /// The first value (`minvalue`).
        min: f64,
        /// The last value, at most (`maxvalue`).
        max: f64,
        /// The step (`increment`), above 0.
        increment: f64,
    },
    /// A normal distribution; settings as sent.
    Normal(Value),
    /// A uniform distribution; settings as sent.
    Uniform(Value),
    /// Evenly spaced values; settings as sent.
    Linspace(Value),
    /// A triangular distribution; settings as sent.
    Triangular(Value),
    /// A log-normal distribution; settings as sent.
    LogNormal(Value),
    /// A generator this version of the crate does not know, kept as sent.
    Other {
        /// Its `valueGeneratorType`.
        kind: String,
        /// Its `valueGeneratorSettings`.
        settings: Value,
    },
}

/// Upper bound on the values [`ValueGenerator::values`] lists.
const MAX_VALUES: usize = 100_000;

impl ValueGenerator {
    /// A fixed range from `min` to `max` in steps of `increment`.
    pub fn fixed_range(min: f64, max: f64, increment: f64) -> Self {
        ValueGenerator::FixedRange {
            min,
            max,
            increment,
        }
    }

    /// Its `valueGeneratorType`.
    pub fn kind(&self) -> ValueGeneratorType {
        match self {
            ValueGenerator::None => ValueGeneratorType::Unspecified,
            ValueGenerator::FixedRange { .. } => ValueGeneratorType::FixedRange,
            ValueGenerator::Normal(_) => ValueGeneratorType::Normal,
            ValueGenerator::Uniform(_) => ValueGeneratorType::Uniform,
            ValueGenerator::Linspace(_) => ValueGeneratorType::Linspace,
            ValueGenerator::Triangular(_) => ValueGeneratorType::Triangular,
            ValueGenerator::LogNormal(_) => ValueGeneratorType::LogNormal,
            ValueGenerator::Other { kind, .. } => ValueGeneratorType::Other(kind.clone()),
        }
    }

    /// Its `valueGeneratorSettings` (`{}` for none).
    pub fn settings(&self) -> Value {
        match self {
            ValueGenerator::None => json!({}),
            ValueGenerator::FixedRange {
                min,
                max,
                increment,
            } => json!({"minvalue": min, "maxvalue": max, "increment": increment}),
            ValueGenerator::Normal(s)
            | ValueGenerator::Uniform(s)
            | ValueGenerator::Linspace(s)
            | ValueGenerator::Triangular(s)
            | ValueGenerator::LogNormal(s)
            | ValueGenerator::Other { settings: s, .. } => s.clone(),
        }
    }

    /// The generator of a type and its settings, as the service sends them; the error
    /// says what does not fit.
    pub fn from_parts(
        kind: &ValueGeneratorType,
        settings: &Value,
    ) -> std::result::Result<Self, String> {
        let s = settings.clone();
        Ok(match kind {
            ValueGeneratorType::Unspecified => ValueGenerator::None,
            ValueGeneratorType::FixedRange => {
                let number = |key: &str| {
                    let v = settings.get(key);
                    v.and_then(Value::as_f64)
                        .or_else(|| v.and_then(Value::as_str)?.trim().parse().ok())
                        .ok_or_else(|| format!("FixedRange needs a number `{key}`"))
                };
                ValueGenerator::FixedRange {
                    min: number("minvalue")?,
                    max: number("maxvalue")?,
                    increment: number("increment")?,
                }
            }
            ValueGeneratorType::Normal => ValueGenerator::Normal(s),
            ValueGeneratorType::Uniform => ValueGenerator::Uniform(s),
            ValueGeneratorType::Linspace => ValueGenerator::Linspace(s),
            ValueGeneratorType::Triangular => ValueGenerator::Triangular(s),
            ValueGeneratorType::LogNormal => ValueGenerator::LogNormal(s),
            ValueGeneratorType::Other(kind) => ValueGenerator::Other {
                kind: kind.clone(),
                settings: s,
            },
        })
    }

    /// What the service would refuse: a FixedRange needs finite bounds, `min <= max` and
    /// an increment above 0.
    pub fn check(&self) -> std::result::Result<(), String> {
        if let ValueGenerator::FixedRange {
            min,
            max,
            increment,
        } = *self
        {
            if !(min.is_finite() && max.is_finite() && increment.is_finite()) {
                return Err("FixedRange bounds and increment must be finite numbers".into());
            }
            if min > max {
                return Err(format!("FixedRange minvalue {min} is above maxvalue {max}"));
            }
            if increment <= 0.0 {
                return Err(format!(
                    "FixedRange increment must be above 0, got {increment}"
                ));
            }
        }
        Ok(())
    }

    /// The values a FixedRange generates, in order (at most 100 000); `None` for other
    /// generators or an invalid range.
    pub fn values(&self) -> Option<Vec<f64>> {
        let ValueGenerator::FixedRange {
            min,
            max,
            increment,
        } = *self
        else {
            return None;
        };
        self.check().ok()?;
        // Multiplying (not adding) keeps rounding from drifting; the tolerance keeps the
        // last value when `max - min` is a multiple of the increment.
        let tolerance = increment * 1e-9;
        Some(
            (0..MAX_VALUES)
                .map(|i| min + increment * i as f64)
                .take_while(|v| *v <= max + tolerance)
                .collect(),
        )
    }
}

/// A DOE variable: a name, its role, its place in displays and how its values are
/// generated.
///
/// The generator travels as the service sends it (`value_generator_type` and
/// `value_generator_settings`, so that a job read and written back is unchanged);
/// [`generator`](JobVariable::generator) sets both from a [`ValueGenerator`] and
/// [`value_generator`](JobVariable::value_generator) reads them back as one.
///
/// ```
/// use rescale::jobs::{JobVariable, ValueGenerator, VariableType};
/// let velocity = JobVariable::new("velocity", VariableType::Param)
///     .display_order(0)
///     .generator(ValueGenerator::fixed_range(10.0, 30.0, 10.0));
/// assert!(velocity.validate().is_ok());
/// assert_eq!(
///     serde_json::to_value(&velocity).unwrap(),
///     serde_json::json!({
///         "name": "velocity", "variableType": "Param", "displayOrder": 0,
///         "valueGeneratorType": "FixedRange",
///         "valueGeneratorSettings": {"minvalue": 10.0, "maxvalue": 30.0, "increment": 10.0}
///     })
/// );
/// ```
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct JobVariable {
    /// Variable name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Its role.
    pub variable_type: VariableType,
    /// Position in displays (required by the service).
    #[serde(default, deserialize_with = "opt_u32")]
    pub display_order: Option<u32>,
    /// How its values are generated (required; `""` for none). The API reference's
    /// field table calls it `variableGeneratorType`; that spelling decodes too.
    #[serde(alias = "variableGeneratorType")]
    pub value_generator_type: Option<ValueGeneratorType>,
    /// Settings of the generator (required; free-form, FixedRange uses
    /// `{minvalue, maxvalue, increment}`).
    pub value_generator_settings: Option<Value>,
    /// Fields this version of the crate does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl JobVariable {
    /// A variable of the given name and role, with no generator yet.
    pub fn new(name: impl Into<String>, variable_type: VariableType) -> Self {
        JobVariable {
            name: name.into(),
            variable_type,
            display_order: None,
            value_generator_type: None,
            value_generator_settings: None,
            extra: Map::new(),
        }
    }

    /// Sets its position in displays.
    #[must_use]
    pub fn display_order(mut self, order: u32) -> Self {
        self.display_order = Some(order);
        self
    }

    /// Sets how its values are generated ([`ValueGenerator::None`] when they come from
    /// elsewhere, e.g. a parameter file).
    #[must_use]
    pub fn generator(mut self, generator: ValueGenerator) -> Self {
        self.value_generator_type = Some(generator.kind());
        self.value_generator_settings = Some(generator.settings());
        self
    }

    /// The generator, read from the type and settings; the error names the field that
    /// is missing or does not fit.
    pub fn value_generator(&self) -> Result<ValueGenerator> {
        let kind = self
            .value_generator_type
            .as_ref()
            .ok_or_else(|| Error::invalid("value_generator_type", "is required"))?;
        let settings = match &self.value_generator_settings {
            Some(s) if !s.is_null() => s,
            _ => return Err(Error::invalid("value_generator_settings", "is required")),
        };
        ValueGenerator::from_parts(kind, settings)
            .map_err(|reason| Error::invalid("value_generator_settings", reason))
    }

    /// Checks what the service would refuse: a blank name, no display order, no
    /// generator type or settings, settings that do not fit the type, a FixedRange
    /// whose minimum is above its maximum or whose increment is not above 0.
    pub fn validate(&self) -> Result<()> {
        self.validate_at("")
    }

    /// [`validate`](JobVariable::validate), naming fields under `prefix` (e.g.
    /// `job_variables[0].`).
    pub(crate) fn validate_at(&self, prefix: &str) -> Result<()> {
        let field = |name: &str| format!("{prefix}{name}");
        if self.name.trim().is_empty() {
            return Err(Error::invalid(field("name"), "must not be blank"));
        }
        if self.display_order.is_none() {
            return Err(Error::invalid(field("display_order"), "is required"));
        }
        let generator = self.value_generator().map_err(|e| match e {
            Error::InvalidInput { field: f, reason } => Error::invalid(field(&f), reason),
            other => other,
        })?;
        generator
            .check()
            .map_err(|reason| Error::invalid(field("value_generator_settings"), reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_type_accepts_both_spellings_and_empty() {
        let v: JobVariable = serde_json::from_value(json!({
            "name": "x", "variableType": "Design", "variableGeneratorType": "FixedRange",
            "valueGeneratorSettings": {"minvalue": 1, "maxvalue": "5", "increment": 1}
        }))
        .unwrap();
        assert_eq!(v.value_generator_type, Some(ValueGeneratorType::FixedRange));
        assert_eq!(
            v.value_generator().unwrap(),
            ValueGenerator::fixed_range(1.0, 5.0, 1.0)
        );
        let v: JobVariable = serde_json::from_value(json!({
            "name": "x", "variableType": "Param", "valueGeneratorType": ""
        }))
        .unwrap();
        assert_eq!(
            v.value_generator_type,
            Some(ValueGeneratorType::Unspecified)
        );
        assert_eq!(serde_json::to_value(&v).unwrap()["valueGeneratorType"], "");
    }

    #[test]
    fn every_generator_keeps_its_type_and_settings() {
        let settings = json!({"mean": 1.0, "stddev": 0.1});
        for kind in [
            "Normal",
            "Uniform",
            "Linspace",
            "Triangular",
            "LogNormal",
            "Sobol",
        ] {
            let kind: ValueGeneratorType = kind.parse().unwrap();
            let g = ValueGenerator::from_parts(&kind, &settings).unwrap();
            assert_eq!(g.kind(), kind);
            assert_eq!(g.settings(), settings);
        }
        let none = ValueGenerator::from_parts(&ValueGeneratorType::Unspecified, &json!({}));
        assert_eq!(none, Ok(ValueGenerator::None));
    }

    #[test]
    fn a_fixed_range_lists_its_values() {
        assert_eq!(
            ValueGenerator::fixed_range(0.1, 0.3, 0.1)
                .values()
                .unwrap()
                .len(),
            3
        );
        assert_eq!(
            ValueGenerator::fixed_range(1.0, 1.0, 5.0).values(),
            Some(vec![1.0])
        );
        assert_eq!(ValueGenerator::fixed_range(2.0, 1.0, 1.0).values(), None);
        assert_eq!(ValueGenerator::Normal(json!({})).values(), None);
    }

    #[test]
    fn an_invalid_variable_names_its_field() {
        let ok = || {
            JobVariable::new("v", VariableType::Param)
                .display_order(0)
                .generator(ValueGenerator::fixed_range(1.0, 3.0, 1.0))
        };
        assert!(ok().validate().is_ok());
        let mut no_settings = ok();
        no_settings.value_generator_settings = None;
        let mut no_type = ok();
        no_type.value_generator_type = None;
        let mut not_numbers = ok();
        not_numbers.value_generator_settings = Some(json!({"minvalue": "a"}));
        let cases = [
            (
                ok().generator(ValueGenerator::fixed_range(3.0, 1.0, 1.0)),
                "above",
            ),
            (
                ok().generator(ValueGenerator::fixed_range(1.0, 3.0, 0.0)),
                "increment",
            ),
            // JSON has no NaN: it is sent as null, so it is missing.
            (
                ok().generator(ValueGenerator::fixed_range(f64::NAN, 3.0, 1.0)),
                "minvalue",
            ),
            (not_numbers, "minvalue"),
        ];
        for (v, why) in cases {
            match v.validate_at("job_variables[2].") {
                Err(Error::InvalidInput { field, reason }) => {
                    assert_eq!(field, "job_variables[2].value_generator_settings");
                    assert!(reason.contains(why), "{reason}");
                }
                other => panic!("{why}: {other:?}"),
            }
        }
        let nan = ValueGenerator::fixed_range(1.0, f64::NAN, 1.0).check();
        assert!(nan.unwrap_err().contains("finite"));
        let mut no_order = ok();
        no_order.display_order = None;
        for (v, want) in [
            (no_order, "display_order"),
            (no_type, "value_generator_type"),
            (no_settings, "value_generator_settings"),
            (JobVariable::new(" ", VariableType::Param), "name"),
        ] {
            match v.validate() {
                Err(Error::InvalidInput { field, .. }) => assert_eq!(field, want),
                other => panic!("{want}: {other:?}"),
            }
        }
    }
}
