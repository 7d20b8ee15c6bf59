//! The types a request field can be, each knowing how it is read from JSON and what is wrong
//! with a bad value.
//!
//! A request struct is declared once with [`crate::validate::declared`]; each field's type says
//! how it is checked (`Uuid`, `Email`, `Id`, `Option<…>` for optional, …), so the struct, its
//! keys and its checks cannot drift apart. "Parse, don't validate": a value of one of these
//! types has passed its check.

use super::{Fields, Problems, ValidationContext, check_email, check_max_chars, check_url};
use super::{scalar_as_string, type_name, uuid_value};
use crate::phone::Phone;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

/// A type a field of a request can have.
pub trait Field: Sized {
    /// Reads a present, non-null value found at `at`; `None` once the problem is recorded.
    fn read(value: &Value, at: &str, cx: &ValidationContext, p: &mut Problems) -> Option<Self>;

    /// The value when the key is missing (`null` says whether it was an explicit `null`).
    /// Required unless the type says otherwise.
    fn missing(at: &str, _null: bool, p: &mut Problems) -> Option<Self> {
        p.add(at, "is required");
        None
    }

    /// Stands in for a bad field while the rest of the request is read, so that every problem
    /// is found in one pass. Never sent: a request with a problem is refused as a whole.
    fn placeholder() -> Self;
}

/// Reads `key` of `fields` as a `T`, recording any problem.
pub fn read_key<'a, T: Field>(
    fields: &mut Fields<'a>,
    key: &'a str,
    cx: &ValidationContext,
    p: &mut Problems,
) -> T {
    let at = fields.path_of(key);
    let read = match fields.take_nullable(key) {
        None => T::missing(&at, false, p),
        Some(Value::Null) => T::missing(&at, true, p),
        Some(value) => T::read(value, &at, cx, p),
    };
    read.unwrap_or_else(T::placeholder)
}

/// An optional field: absent and `null` are both "not given".
impl<T: Field> Field for Option<T> {
    fn read(value: &Value, at: &str, cx: &ValidationContext, p: &mut Problems) -> Option<Self> {
        T::read(value, at, cx, p).map(Some)
    }

    fn missing(_at: &str, _null: bool, _p: &mut Problems) -> Option<Self> {
        Some(None)
    }

    fn placeholder() -> Self {
        None
    }
}

/// A non-blank string, kept as given.
pub fn non_blank<'v>(value: &'v Value, at: &str, p: &mut Problems) -> Option<&'v str> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s),
        Value::String(_) => {
            p.add(at, "must not be empty");
            None
        }
        other => {
            p.add(at, format!("must be a string, not {}", type_name(other)));
            None
        }
    }
}

/// Required text: a non-blank string.
impl Field for String {
    fn read(value: &Value, at: &str, _: &ValidationContext, p: &mut Problems) -> Option<Self> {
        non_blank(value, at, p).map(str::to_string)
    }

    fn placeholder() -> Self {
        String::new()
    }
}

impl Field for bool {
    fn read(value: &Value, at: &str, _: &ValidationContext, p: &mut Problems) -> Option<Self> {
        match value {
            Value::Bool(b) => Some(*b),
            other => {
                p.add(
                    at,
                    format!("must be true or false, not {}", type_name(other)),
                );
                None
            }
        }
    }

    fn placeholder() -> Self {
        false
    }
}

/// `value` as a JSON object, or the problem.
fn object<'v>(value: &'v Value, at: &str, p: &mut Problems) -> Option<&'v Map<String, Value>> {
    match value {
        Value::Object(map) => Some(map),
        other => {
            p.add(
                at,
                format!("must be a JSON object, not {}", type_name(other)),
            );
            None
        }
    }
}

/// An object whose keys are open (attributes the provider stores as given).
impl Field for Map<String, Value> {
    fn read(value: &Value, at: &str, _: &ValidationContext, p: &mut Problems) -> Option<Self> {
        object(value, at, p).cloned()
    }

    fn placeholder() -> Self {
        Map::new()
    }
}

/// An array, each item read as a `T` under `at[i]`; bad items are named and left out.
impl<T: Field> Field for Vec<T> {
    fn read(value: &Value, at: &str, cx: &ValidationContext, p: &mut Problems) -> Option<Self> {
        match value {
            Value::Array(items) => Some(
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, item)| T::read(item, &format!("{at}[{i}]"), cx, p))
                    .collect(),
            ),
            other => {
                p.add(at, format!("must be an array, not {}", type_name(other)));
                None
            }
        }
    }

    fn placeholder() -> Self {
        Vec::new()
    }
}

/// Makes a newtype over `String` serialize as the string it holds.
macro_rules! string_newtype {
    ($(#[$attr:meta])* $name:ident) => {
        $(#[$attr])*
        #[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

string_newtype!(
    /// An identifier the provider takes as a string, though users often send it as a number.
    IdString
);

impl Field for IdString {
    fn read(value: &Value, at: &str, _: &ValidationContext, p: &mut Problems) -> Option<Self> {
        match value {
            Value::Number(n) if n.is_u64() => Some(Self(n.to_string())),
            other => non_blank(other, at, p).map(|s| Self(s.to_string())),
        }
    }

    fn placeholder() -> Self {
        Self::default()
    }
}

string_newtype!(
    /// A uuid, in its canonical lower-case form.
    Uuid
);

impl Field for Uuid {
    fn read(value: &Value, at: &str, _: &ValidationContext, p: &mut Problems) -> Option<Self> {
        uuid_value(at, non_blank(value, at, p)?, p).map(Self)
    }

    fn placeholder() -> Self {
        Self::default()
    }
}

string_newtype!(
    /// An e-mail address, trimmed.
    Email
);

impl Field for Email {
    fn read(value: &Value, at: &str, _: &ValidationContext, p: &mut Problems) -> Option<Self> {
        let email = non_blank(value, at, p)?.trim();
        check_email(at, email, p).then(|| Self(email.to_string()))
    }

    fn placeholder() -> Self {
        Self::default()
    }
}

string_newtype!(
    /// An absolute http(s) URL, as providers fetch attachments from it.
    HttpUrl
);

impl Field for HttpUrl {
    fn read(value: &Value, at: &str, _: &ValidationContext, p: &mut Problems) -> Option<Self> {
        let url = non_blank(value, at, p)?;
        check_url(at, url, p).then(|| Self(url.to_string()))
    }

    fn placeholder() -> Self {
        Self::default()
    }
}

string_newtype!(
    /// Text, a number or a boolean, as the text a template would show.
    AsText
);

impl Field for AsText {
    fn read(value: &Value, at: &str, _: &ValidationContext, p: &mut Problems) -> Option<Self> {
        match scalar_as_string(value) {
            Some(text) => Some(Self(text)),
            None => {
                p.add(at, format!("must be text, not {}", type_name(value)));
                None
            }
        }
    }

    fn placeholder() -> Self {
        Self::default()
    }
}

/// Non-blank text of at most `MAX` characters (Unicode scalar values, as providers count them).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct TextUpTo<const MAX: usize>(String);

impl<const MAX: usize> TextUpTo<MAX> {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const MAX: usize> Field for TextUpTo<MAX> {
    fn read(value: &Value, at: &str, _: &ValidationContext, p: &mut Problems) -> Option<Self> {
        let text = non_blank(value, at, p)?;
        check_max_chars(at, text, MAX, p).then(|| Self(text.to_string()))
    }

    fn placeholder() -> Self {
        Self::default()
    }
}

/// A positive whole number identifying something; a string of digits is accepted (form data
/// is text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct Id(u64);

impl Id {
    pub fn get(self) -> u64 {
        self.0
    }
}

impl From<u64> for Id {
    fn from(id: u64) -> Self {
        Self(id)
    }
}

impl Field for Id {
    fn read(value: &Value, at: &str, _: &ValidationContext, p: &mut Problems) -> Option<Self> {
        let parsed = match value {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        match parsed {
            Some(id) if id > 0 => Some(Self(id)),
            _ => {
                p.add(at, "must be a positive whole number");
                None
            }
        }
    }

    fn placeholder() -> Self {
        Self::default()
    }
}

/// A whole number of zero or more (counts, indexes, seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct Count(u64);

impl Count {
    pub fn get(self) -> u64 {
        self.0
    }
}

impl Field for Count {
    fn read(value: &Value, at: &str, _: &ValidationContext, p: &mut Problems) -> Option<Self> {
        match value.as_u64() {
            Some(n) => Some(Self(n)),
            None => {
                p.add(at, "must be a whole number of zero or more");
                None
            }
        }
    }

    fn placeholder() -> Self {
        Self::default()
    }
}

/// An object of text values (a chatbot session's context): numbers and booleans become text.
/// Left out, it is an empty object.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(transparent)]
pub struct TextMap(Map<String, Value>);

impl Field for TextMap {
    fn read(value: &Value, at: &str, cx: &ValidationContext, p: &mut Problems) -> Option<Self> {
        let mut texts = Map::new();
        for (key, value) in object(value, at, p)? {
            if let Some(AsText(text)) = AsText::read(value, &format!("{at}.{key}"), cx, p) {
                texts.insert(key.clone(), Value::String(text));
            }
        }
        Some(Self(texts))
    }

    fn missing(_at: &str, _null: bool, _p: &mut Problems) -> Option<Self> {
        Some(Self::default())
    }

    fn placeholder() -> Self {
        Self::default()
    }
}

/// A field the provider accepts as an explicit `null`: left out, `null`, or a value, each sent
/// on as given. Declare it with `#[serde(skip_serializing_if = "Nullable::is_absent")]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Nullable<T> {
    #[default]
    Absent,
    Null,
    Is(T),
}

impl<T> Nullable<T> {
    pub fn is_absent(&self) -> bool {
        matches!(self, Nullable::Absent)
    }
}

impl<T: Serialize> Serialize for Nullable<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Nullable::Is(value) => value.serialize(serializer),
            Nullable::Absent | Nullable::Null => serializer.serialize_none(),
        }
    }
}

impl<T: Field> Field for Nullable<T> {
    fn read(value: &Value, at: &str, cx: &ValidationContext, p: &mut Problems) -> Option<Self> {
        T::read(value, at, cx, p).map(Nullable::Is)
    }

    fn missing(_at: &str, null: bool, _p: &mut Problems) -> Option<Self> {
        Some(if null {
            Nullable::Null
        } else {
            Nullable::Absent
        })
    }

    fn placeholder() -> Self {
        Nullable::Absent
    }
}

/// A phone number, read in the region of the [`ValidationContext`]. It serializes as E.164;
/// a provider that wants other digits says so with `serialize_with`.
impl Field for Phone {
    fn read(value: &Value, at: &str, cx: &ValidationContext, p: &mut Problems) -> Option<Self> {
        let raw = non_blank(value, at, p)?;
        Phone::parse(raw, cx.phone_region)
            .map_err(|why| p.add(at, why))
            .ok()
    }

    fn placeholder() -> Self {
        Phone::placeholder()
    }
}

/// A phone number the provider accepts in at most `MAX` characters as typed: the limit is
/// checked before the number is read.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct PhoneUpTo<const MAX: usize>(Phone);

impl<const MAX: usize> PhoneUpTo<MAX> {
    pub fn phone(&self) -> &Phone {
        &self.0
    }
}

impl<const MAX: usize> Field for PhoneUpTo<MAX> {
    fn read(value: &Value, at: &str, cx: &ValidationContext, p: &mut Problems) -> Option<Self> {
        let raw = non_blank(value, at, p)?;
        if !check_max_chars(at, raw, MAX, p) {
            return None;
        }
        Phone::read(value, at, cx, p).map(Self)
    }

    fn placeholder() -> Self {
        Self(Phone::placeholder())
    }
}

/// An object declared with [`crate::validate::declared`]: its declared keys, read out of an
/// object whose other keys are left to the caller.
pub trait DeclaredObject: Sized {
    /// Reads the declared keys of `fields`, then the rules across them; keys it does not
    /// declare are left unread.
    fn read_fields(fields: &mut Fields<'_>, cx: &ValidationContext, p: &mut Problems) -> Self;
}

/// The keys of an object left over once its declared fields are read, for requests whose
/// other keys are open (a template's own variables).
pub trait Remainder: Sized + Default {
    /// Reads every key `fields` has not read yet, marking it read.
    fn read_rest(fields: &mut Fields<'_>, cx: &ValidationContext, p: &mut Problems) -> Self;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::one_of;
    use crate::validate::declared;
    use serde_json::json;

    one_of! {
        enum Colour { Red = "red", DarkBlue = "dark-blue" }
    }

    #[declared(check = check_order)]
    #[derive(Debug, PartialEq, Serialize)]
    struct Order {
        #[serde(rename = "orderId")]
        order_id: Id,
        colour: Option<Colour>,
        #[serde(skip_serializing_if = "Nullable::is_absent")]
        buyer: Nullable<Uuid>,
        lines: Vec<Line>,
    }

    #[declared]
    #[derive(Debug, PartialEq, Serialize)]
    struct Line {
        sku: TextUpTo<5>,
        quantity: Option<Count>,
    }

    #[declared]
    #[derive(Debug, PartialEq, Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Parcel {
        tracking_code: String,
        declared_value: Option<Count>,
        #[serde(rename = "kind")]
        parcel_kind: Option<Colour>,
    }

    #[test]
    fn camel_case_keys_and_options_left_out_when_none() {
        let parcel: Parcel = read(json!({"trackingCode": "BR1", "kind": "red"})).unwrap();
        assert_eq!(
            serde_json::to_value(&parcel).unwrap(),
            json!({"trackingCode": "BR1", "kind": "red"})
        );
        let err = read::<Parcel>(json!({"tracking_code": "BR1", "declaredValue": -1})).unwrap_err();
        assert_eq!(
            fields(&err),
            ["trackingCode", "declaredValue", "tracking_code"]
        );
    }

    fn check_order(order: &mut Order, _: &Fields<'_>, _: &ValidationContext, p: &mut Problems) {
        if order.colour == Some(Colour::DarkBlue) && order.lines.is_empty() {
            p.add("lines", "are required for dark-blue orders");
        }
    }

    fn read<T: Field>(body: Value) -> Result<T, Problems> {
        super::super::read_body(&body, &ValidationContext::default())
    }

    fn fields(problems: &Problems) -> Vec<&str> {
        problems.list().iter().map(|p| p.field.as_str()).collect()
    }

    #[test]
    fn a_declared_key_reads_and_serializes_the_same_field() {
        let body = json!({
            "orderId": "12", "colour": "dark-blue",
            "buyer": "0B28EE57-7A57-4407-A9C5-5CD4E5A5FD6C",
            "lines": [{"sku": "ção12", "quantity": 0}]
        });
        let order: Order = read(body).unwrap();
        assert_eq!(order.order_id.get(), 12);
        assert_eq!(
            serde_json::to_value(&order).unwrap(),
            json!({
                "orderId": 12, "colour": "dark-blue",
                "buyer": "0b28ee57-7a57-4407-a9c5-5cd4e5a5fd6c",
                "lines": [{"sku": "ção12", "quantity": 0}]
            })
        );
        // The Rust name is not a key: only the declared one is.
        let err = read::<Order>(json!({"order_id": 1, "lines": []})).unwrap_err();
        assert_eq!(fields(&err), ["orderId", "order_id"]);
    }

    #[test]
    fn every_problem_is_found_in_one_pass_in_declared_order_then_the_check() {
        let err = read::<Order>(json!({
            "colour": "blue", "buyer": 7,
            "lines": [{"sku": "toolong", "quantity": -1, "extra": true}, "x"],
            "typo": 1
        }))
        .unwrap_err();
        assert_eq!(
            fields(&err),
            [
                "orderId",
                "colour",
                "buyer",
                "lines[0].sku",
                "lines[0].quantity",
                "lines[0].extra",
                "lines[1]",
                "typo"
            ]
        );
        assert_eq!(
            err.list()[1].problem,
            "must be one of red, dark-blue, not \"blue\""
        );
        assert_eq!(err.list()[3].problem, "must be at most 5 characters, not 7");
        let err = read::<Order>(json!({"orderId": 1, "colour": "dark-blue", "lines": []}));
        assert_eq!(fields(&err.unwrap_err()), ["lines"]);
    }

    #[test]
    fn nullable_keeps_absent_null_and_a_value_apart() {
        let absent: Order = read(json!({"orderId": 1, "lines": []})).unwrap();
        let null: Order = read(json!({"orderId": 1, "lines": [], "buyer": null})).unwrap();
        assert_eq!(absent.buyer, Nullable::Absent);
        assert_eq!(null.buyer, Nullable::Null);
        assert!(
            serde_json::to_value(&absent)
                .unwrap()
                .get("buyer")
                .is_none()
        );
        assert_eq!(serde_json::to_value(&null).unwrap()["buyer"], Value::Null);
    }

    #[test]
    fn a_body_that_is_not_an_object_is_named_as_the_body() {
        let err = read::<Order>(json!(["orderId"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "(body): must be a JSON object, not an array"
        );
    }

    #[test]
    fn scalar_types_accept_what_forms_send_and_name_the_rest() {
        let cx = ValidationContext::default();
        let mut p = Problems::new();
        assert_eq!(Id::read(&json!(" 42 "), "a", &cx, &mut p), Some(Id(42)));
        assert_eq!(Id::read(&json!(0), "b", &cx, &mut p), None);
        assert_eq!(
            IdString::read(&json!(7), "c", &cx, &mut p)
                .unwrap()
                .as_str(),
            "7"
        );
        assert_eq!(
            Email::read(&json!(" a@b.co "), "d", &cx, &mut p)
                .unwrap()
                .as_str(),
            "a@b.co"
        );
        assert_eq!(Email::read(&json!("a@b"), "e", &cx, &mut p), None);
        assert_eq!(HttpUrl::read(&json!("ftp://x"), "f", &cx, &mut p), None);
        assert_eq!(
            AsText::read(&json!(true), "g", &cx, &mut p)
                .unwrap()
                .as_str(),
            "true"
        );
        assert_eq!(String::read(&json!("  "), "h", &cx, &mut p), None);
        assert_eq!(bool::read(&json!("yes"), "i", &cx, &mut p), None);
        assert_eq!(Count::read(&json!(1.5), "j", &cx, &mut p), None);
        assert_eq!(fields(&p), ["b", "e", "f", "h", "i", "j"]);
    }
}
