//! Declaring a request once: [`crate::validated_object!`] for objects, [`crate::one_of!`] for
//! closed lists of values.
//!
//! The struct a provider receives is the one that is read: each field is declared once, with
//! its type (which says how it is checked, see [`super::field`]) and, when it differs from the
//! field's name, its key (`channel_id as "channelId"`). The same key names the field in problems,
//! reads it, and serializes it (the macro writes the `#[serde(rename)]`), so they cannot drift.

/// Declares a struct read field by field from a JSON object, every problem at once.
///
/// ```ignore
/// validated_object! {
///     #[derive(Debug, Serialize)]
///     pub struct Contact {
///         pub name: String,
///         pub phone_number as "phoneNumber": Phone,
///     }
///     check: check_contact;                      // optional: rules across fields
/// }
/// ```
///
/// Besides the struct, it implements [`crate::validate::DeclaredObject`] (read the declared
/// keys, then the check) and [`crate::validate::Field`], which also rejects keys the
/// struct does not declare. A `rest:` field (a [`crate::validate::Remainder`]) takes every
/// other key instead, for objects whose other keys are open.
///
/// Fields are read in the order they are declared, so problems are listed in that order; the
/// check runs after them, on the values read (a bad field holds its placeholder by then).
#[macro_export]
macro_rules! validated_object {
    (@key $field:ident) => {
        stringify!($field)
    };
    (@key $field:ident $key:literal) => {
        $key
    };
    (
        $(#[$attr:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[$field_attr:meta])*
                $field_vis:vis $field:ident $(as $key:literal)? : $field_type:ty
            ),* $(,)?
        }
        $(rest: $(#[$rest_attr:meta])* $rest_vis:vis $rest:ident : $rest_type:ty;)?
        $(check: $check:path;)?
    ) => {
        $(#[$attr])*
        $vis struct $name {
            $(
                $(#[$field_attr])*
                $(#[serde(rename = $key)])?
                $field_vis $field: $field_type,
            )*
            $($(#[$rest_attr])* $rest_vis $rest: $rest_type,)?
        }

        impl $crate::validate::DeclaredObject for $name {
            fn read_fields(
                fields: &mut $crate::validate::Fields<'_>,
                cx: &$crate::validate::ValidationContext,
                p: &mut $crate::validate::Problems,
            ) -> Self {
                #[allow(unused_mut)]
                let mut read = Self {
                    $(
                        $field: $crate::validate::read_key(
                            fields,
                            $crate::validated_object!(@key $field $($key)?),
                            cx,
                            p,
                        ),
                    )*
                    $($rest: <$rest_type as $crate::validate::Remainder>::read_rest(fields, cx, p),)?
                };
                $($check(&mut read, fields, cx, p);)?
                read
            }
        }

        impl $crate::validate::Field for $name {
            fn read(
                value: &::serde_json::Value,
                at: &str,
                cx: &$crate::validate::ValidationContext,
                p: &mut $crate::validate::Problems,
            ) -> Option<Self> {
                let mut fields = $crate::validate::Fields::object(value, at, p)?;
                let read = <Self as $crate::validate::DeclaredObject>::read_fields(&mut fields, cx, p);
                fields.reject_unknown(p, |_| false);
                Some(read)
            }

            fn placeholder() -> Self {
                Self {
                    $($field: $crate::validate::Field::placeholder(),)*
                    $($rest: <$rest_type as Default>::default(),)?
                }
            }
        }
    };
}

/// Declares an enum of the values a field may take, each with the text the provider uses.
///
/// ```ignore
/// one_of! {
///     pub enum Status { Open = "open", Pending = "pending" }
/// }
/// ```
///
/// It is read exactly as written (a wrong value is named with the list of right ones) and
/// serializes as its text.
#[macro_export]
macro_rules! one_of {
    (
        $(#[$attr:meta])*
        $vis:vis enum $name:ident { $($variant:ident = $text:literal),+ $(,)? }
    ) => {
        $(#[$attr])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name {
            $($variant),+
        }

        impl $name {
            /// Every value, in the order they are declared.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The text the provider uses for this value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl $crate::validate::Field for $name {
            fn read(
                value: &::serde_json::Value,
                at: &str,
                _cx: &$crate::validate::ValidationContext,
                p: &mut $crate::validate::Problems,
            ) -> Option<Self> {
                let text = $crate::validate::non_blank(value, at, p)?;
                let found = Self::ALL.iter().copied().find(|v| v.as_str() == text);
                if found.is_none() {
                    p.add(
                        at,
                        format!("must be one of {}, not {text:?}", [$($text),+].join(", ")),
                    );
                }
                found
            }

            fn placeholder() -> Self {
                Self::ALL[0]
            }
        }
    };
}
