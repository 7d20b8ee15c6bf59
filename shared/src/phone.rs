//! Phone numbers: parsed with libphonenumber's metadata, written the way each provider wants.
//!
//! Form builders deliver anything from `(85) 98769-6383` to `+55 85 98769-6383`. A number is read
//! in the default region (Brazil unless configured), must be a valid number there or carry its
//! own country code, and is then written in one of the [`PhoneFormat`]s when the request for the
//! provider is built.

use phonenumber::country::Id as Region;
use phonenumber::{Mode, PhoneNumber};
use std::str::FromStr;

/// How a provider wants a phone number written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneFormat {
    /// `+5511987654321` (Cloud Chat).
    E164,
    /// `5511987654321`: country code and number, digits only (Sacflow; WhatsApp's own ids).
    InternationalDigits,
    /// `11987654321`: area code and number for numbers of the default region, and
    /// [`PhoneFormat::InternationalDigits`] for any other country (Wegly's documented example).
    NationalDigits,
}

/// The region numbers without a country code are read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneRegion(Region);

impl Default for PhoneRegion {
    fn default() -> Self {
        Self(Region::BR)
    }
}

impl FromStr for PhoneRegion {
    type Err = String;

    /// A two-letter ISO 3166 code such as `BR` or `PT` (any case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Region::from_str(&s.trim().to_ascii_uppercase())
            .map(Self)
            .map_err(|_| format!("{s:?} is not a two-letter country code such as BR"))
    }
}

impl PhoneRegion {
    pub fn code(&self) -> &str {
        self.0.as_ref()
    }
}

/// A valid phone number, remembered with the region it was read in.
#[derive(Debug, Clone, PartialEq)]
pub struct Phone {
    number: PhoneNumber,
    region: PhoneRegion,
}

impl Phone {
    /// Parses `raw`; the error says why the number was refused.
    pub fn parse(raw: &str, region: PhoneRegion) -> Result<Self, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("must not be empty".into());
        }
        // "00" announces an international number as "+" does; libphonenumber reads "+" reliably.
        let cleaned = match trimmed.strip_prefix("00") {
            Some(rest) if !rest.starts_with('0') => format!("+{rest}"),
            _ => trimmed.to_string(),
        };
        let number = phonenumber::parse(Some(region.0), &cleaned)
            .map_err(|_| format!("is not a phone number (read in region {})", region.code()))?;
        if !phonenumber::is_valid(&number) {
            return Err(format!(
                "is not a valid phone number (read in region {})",
                region.code()
            ));
        }
        Ok(Self { number, region })
    }

    /// The number written in `format`.
    pub fn to_format(&self, format: PhoneFormat) -> String {
        let e164 = self.number.format().mode(Mode::E164).to_string();
        match format {
            PhoneFormat::E164 => e164,
            PhoneFormat::InternationalDigits => e164.trim_start_matches('+').to_string(),
            PhoneFormat::NationalDigits => {
                if self.number.country().id() == Some(self.region.0) {
                    self.number.national().to_string()
                } else {
                    e164.trim_start_matches('+').to_string()
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn br(raw: &str, format: PhoneFormat) -> Result<String, String> {
        Phone::parse(raw, PhoneRegion::default()).map(|p| p.to_format(format))
    }

    #[test]
    fn brazilian_mobiles_in_every_format() {
        for raw in [
            "(85) 98769-6383",
            "85987696383",
            "+55 85 98769-6383",
            "0055 85 98769 6383",
            "+55 (85) 98769-6383",
        ] {
            assert_eq!(
                br(raw, PhoneFormat::E164).unwrap(),
                "+5585987696383",
                "{raw}"
            );
            assert_eq!(
                br(raw, PhoneFormat::InternationalDigits).unwrap(),
                "5585987696383"
            );
            assert_eq!(br(raw, PhoneFormat::NationalDigits).unwrap(), "85987696383");
        }
    }

    #[test]
    fn foreign_numbers_keep_their_country_code() {
        assert_eq!(
            br("+351 912 345 678", PhoneFormat::NationalDigits).unwrap(),
            "351912345678"
        );
        assert_eq!(
            br("+1 415 555 2671", PhoneFormat::E164).unwrap(),
            "+14155552671"
        );
    }

    #[test]
    fn garbage_and_impossible_numbers_are_refused() {
        assert!(br("", PhoneFormat::E164).is_err());
        assert!(br("not a phone", PhoneFormat::E164).is_err());
        assert!(br("+12345", PhoneFormat::E164).is_err());
        assert!(br("123", PhoneFormat::E164).is_err());
    }

    #[test]
    fn the_default_region_is_configurable() {
        let pt: PhoneRegion = "pt".parse().unwrap();
        let phone = Phone::parse("912 345 678", pt).unwrap();
        assert_eq!(phone.to_format(PhoneFormat::E164), "+351912345678");
        assert_eq!(phone.to_format(PhoneFormat::NationalDigits), "912345678");
        assert!("XX1".parse::<PhoneRegion>().is_err());
    }
}
