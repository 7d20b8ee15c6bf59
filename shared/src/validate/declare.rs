//! Declaring a closed list of values once: [`crate::one_of!`]. Objects are declared with
//! `#[declared]` ([`super::declared`]): the struct a provider receives is the one that is read,
//! each field once, with its type (which says how it is checked, see [`super::field`]) and, when
//! it differs from the field's name, its key in serde's own `#[serde(rename = "channelId")]`. The
//! same key names the field in problems, reads it, and serializes it, so they cannot drift.

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
