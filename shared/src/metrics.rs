//! Metrics in CloudWatch Embedded Metric Format: one JSON document on stdout per outcome, which
//! CloudWatch Logs turns into metrics in the `Ponte` namespace without any API call.
//!
//! Per function and trigger: `Delivered`, `Duplicate`, `Failed`, `Retried` (provider calls made
//! again), `DeadLettered`, `ProviderLatency` (milliseconds spent in provider calls); per function
//! and error kind: `FailedByKind`; per function: `ColdStart`.

use serde_json::{Map, Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

pub const NAMESPACE: &str = "Ponte";

/// One EMF document: metric values with the dimensions they are recorded under.
#[derive(Debug, Default)]
pub struct Document {
    root: Map<String, Value>,
    directives: Vec<Value>,
}

impl Document {
    /// A document whose dimensions are `dimensions` (name, value), for `metrics` (name, unit,
    /// value).
    pub fn new(dimensions: &[(&str, &str)], metrics: &[(&str, &str, f64)]) -> Self {
        let mut document = Self::default();
        document.add(dimensions, metrics);
        document
    }

    /// Adds a directive: these metrics under these dimensions.
    pub fn add(&mut self, dimensions: &[(&str, &str)], metrics: &[(&str, &str, f64)]) {
        for (name, value) in dimensions {
            self.root.insert((*name).into(), json!(value));
        }
        for (name, _, value) in metrics {
            self.root.insert((*name).into(), json!(value));
        }
        let names: Vec<&str> = dimensions.iter().map(|(n, _)| *n).collect();
        // Recorded under the full set, and rolled up under the first dimension (the function)
        // alone, which is what alarms and the dashboard read.
        let mut sets = vec![names.clone()];
        if names.len() > 1 {
            sets.push(names[..1].to_vec());
        }
        let definitions: Vec<Value> = metrics
            .iter()
            .map(|(name, unit, _)| json!({"Name": name, "Unit": unit}))
            .collect();
        self.directives.push(json!({
            "Namespace": NAMESPACE,
            "Dimensions": sets,
            "Metrics": definitions,
        }));
    }

    pub fn to_json(&self) -> Value {
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default();
        let mut root = self.root.clone();
        root.insert(
            "_aws".into(),
            json!({"Timestamp": timestamp, "CloudWatchMetrics": self.directives}),
        );
        Value::Object(root)
    }

    /// Writes the document as one line on stdout, where the Lambda service picks it up.
    pub fn emit(&self) {
        println!("{}", self.to_json());
    }
}

/// Checks a document against the EMF specification's rules; the error says which one failed.
pub fn check(document: &Value) -> Result<(), String> {
    let aws = document.get("_aws").ok_or("no _aws member")?;
    aws.get("Timestamp")
        .and_then(Value::as_u64)
        .ok_or("_aws.Timestamp must be an integer of epoch milliseconds")?;
    let directives = aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .ok_or("_aws.CloudWatchMetrics must be an array")?;
    for directive in directives {
        let namespace = directive
            .get("Namespace")
            .and_then(Value::as_str)
            .unwrap_or("");
        if namespace.is_empty() || namespace.len() > 1024 {
            return Err("each directive needs a Namespace of 1 to 1024 characters".into());
        }
        let sets = directive
            .get("Dimensions")
            .and_then(Value::as_array)
            .ok_or("Dimensions must be an array of dimension sets")?;
        for set in sets {
            let names = set
                .as_array()
                .ok_or("a dimension set is an array of names")?;
            if names.len() > 30 {
                return Err("a dimension set has at most 30 dimensions".into());
            }
            for name in names {
                let name = name.as_str().ok_or("dimension names are strings")?;
                if !document.get(name).is_some_and(Value::is_string) {
                    return Err(format!(
                        "dimension {name} must be a string member of the root"
                    ));
                }
            }
        }
        let metrics = directive
            .get("Metrics")
            .and_then(Value::as_array)
            .ok_or("Metrics must be an array")?;
        if metrics.len() > 100 {
            return Err("a directive has at most 100 metrics".into());
        }
        for metric in metrics {
            let name = metric
                .get("Name")
                .and_then(Value::as_str)
                .ok_or("metrics need a Name")?;
            if name.is_empty() || name.len() > 1024 {
                return Err(format!("metric name {name:?} must be 1 to 1024 characters"));
            }
            if let Some(unit) = metric.get("Unit") {
                let unit = unit.as_str().ok_or("Unit is a string")?;
                if !UNITS.contains(&unit) {
                    return Err(format!("{unit} is not a CloudWatch unit"));
                }
            }
            if !document.get(name).is_some_and(Value::is_number) {
                return Err(format!("metric {name} must be a number member of the root"));
            }
        }
    }
    Ok(())
}

const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_follow_the_specification() {
        let mut document = Document::new(
            &[("function", "wegly-create-chat"), ("trigger", "sqs")],
            &[
                ("Delivered", "Count", 1.0),
                ("ProviderLatency", "Milliseconds", 12.5),
            ],
        );
        document.add(
            &[
                ("function", "wegly-create-chat"),
                ("error_kind", "validation"),
            ],
            &[("FailedByKind", "Count", 1.0)],
        );
        let json = document.to_json();
        check(&json).unwrap();
        assert_eq!(json["Delivered"], 1.0);
        assert_eq!(
            json["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["function", "trigger"], ["function"]])
        );
        assert_eq!(
            json["_aws"]["CloudWatchMetrics"][1]["Metrics"][0]["Name"],
            "FailedByKind"
        );
    }

    #[test]
    fn the_checker_catches_broken_documents() {
        let good = Document::new(&[("function", "f")], &[("Delivered", "Count", 1.0)]).to_json();
        let mut no_dimension = good.clone();
        no_dimension.as_object_mut().unwrap().remove("function");
        assert!(
            check(&no_dimension)
                .unwrap_err()
                .contains("dimension function")
        );
        let mut bad_unit = good.clone();
        bad_unit["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = json!("Things");
        assert!(check(&bad_unit).is_err());
        let mut no_value = good;
        no_value["Delivered"] = json!("one");
        assert!(check(&no_value).is_err());
    }
}
