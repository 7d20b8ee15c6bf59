//! Phone numbers: parsed with libphonenumber's metadata, written the way each provider wants.
//!
//! Form builders deliver anything from `(85) 98769-6383` to `+55 85 98769-6383`. A number is read
//! in the default region (Brazil unless configured), must be a valid number there or carry its
//! own country code, and is then written in one of the [`PhoneFormat`]s when the request for the
//! provider is built.
//!
//! Two Brazilian habits libphonenumber does not cover: mobiles written the pre-2016 way, with
//! eight digits (`(85) 8769-6383`), which are read with the ninth digit Anatel added in front;
//! and numbers without an area code, refused with a message that says so.
//!
//! The library decodes the metadata of every region the first time its global instance is
//! used, which would be most of what a function's first lead costs. Numbers read in Brazil are
//! read with Brazil's metadata alone (`shared/data/phone-metadata-br.pb`, written by
//! `ponte-phone-metadata` from the library's own); only a number with another country code
//! goes to the whole set.

use prost::Message;
use rlibphonenumber::{
    PHONE_NUMBER_UTIL, ParseError, PhoneMetadataCollection, PhoneNumber, PhoneNumberFormat,
    PhoneNumberUtil, Region, get_national_significant_number_owned,
};
use std::str::FromStr;
use std::sync::LazyLock;

/// Brazil's phone metadata, as the library version in `Cargo.lock` holds it (`scripts/test`
/// checks it is current).
const BRAZIL_METADATA: &[u8] = include_bytes!("../data/phone-metadata-br.pb");

/// A phone number reader that knows Brazil alone, built in well under a millisecond. `None`
/// only if the embedded file were unreadable, and then the whole set does the work.
static BRAZIL_ONLY: LazyLock<Option<PhoneNumberUtil>> = LazyLock::new(|| {
    let collection = PhoneMetadataCollection::decode(BRAZIL_METADATA).ok()?;
    PhoneNumberUtil::new_for_metadata(collection).ok()
});

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

    /// A two-letter ISO 3166 code of a region with phone metadata, such as `BR` or `PT` (any
    /// case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let refused = || format!("{s:?} is not a two-letter country code such as BR");
        let region = Region::from_code(s.trim()).map_err(|_| refused())?;
        // Any two letters make a `Region`; only a region with metadata reads numbers. Asking
        // loads the metadata, so the default region, which surely has it, does not ask.
        if region != Region::BR
            && PHONE_NUMBER_UTIL
                .get_country_code_for_region(region)
                .is_none()
        {
            return Err(refused());
        }
        Ok(Self(region))
    }
}

impl PhoneRegion {
    pub fn code(&self) -> String {
        self.0.to_string()
    }
}

/// The longest text read as a phone number: room for `+55 (85) 98769-6383 ramal 1234`
/// written with generous spacing, far below what a form field can carry.
const MAX_PHONE_CHARS: usize = 64;

/// A valid phone number, in the forms providers ask for.
#[derive(Debug, Clone, PartialEq)]
pub struct Phone {
    /// `+5585987696383`.
    e164: String,
    /// `85987696383`: the national significant number, area code included.
    national: String,
    /// Whether the number belongs to the region it was read in.
    in_region: bool,
}

impl Phone {
    /// Parses `raw`; the error says why the number was refused.
    pub fn parse(raw: &str, region: PhoneRegion) -> Result<Self, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("must not be empty".into());
        }
        // The parser's work grows with its input (about a microsecond a character): a field
        // longer than any phone number written out is refused before it is read.
        if trimmed.chars().count() > MAX_PHONE_CHARS {
            return Err(format!(
                "is longer than a phone number ({MAX_PHONE_CHARS} characters at most)"
            ));
        }
        // "00" announces an international number as "+" does; libphonenumber reads "+" reliably.
        let cleaned = match trimmed.strip_prefix("00") {
            Some(rest) if !rest.starts_with('0') => format!("+{rest}"),
            _ => trimmed.to_string(),
        };
        // Read in Brazil, a number is Brazil's to judge unless it names another country code:
        // only then is the whole set needed (and loaded).
        if region.0 == Region::BR
            && let Some(brazil) = BRAZIL_ONLY.as_ref()
        {
            match brazil.parse(&cleaned, Some(region.0)) {
                Err(ParseError::InvalidCountryCode) => {}
                parsed => return judge(brazil, parsed, region),
            }
        }
        parse_with(&PHONE_NUMBER_UTIL, &cleaned, region)
    }

    /// The number written in `format`.
    pub fn to_format(&self, format: PhoneFormat) -> String {
        match format {
            PhoneFormat::E164 => self.e164.clone(),
            PhoneFormat::NationalDigits if self.in_region => self.national.clone(),
            PhoneFormat::InternationalDigits | PhoneFormat::NationalDigits => {
                self.e164.trim_start_matches('+').to_string()
            }
        }
    }

    /// Stands in for a refused number while the rest of a request is read for problems;
    /// validation never hands it on (see `crate::validate::Field::placeholder`).
    pub fn placeholder() -> Self {
        Self {
            e164: String::new(),
            national: String::new(),
            in_region: false,
        }
    }
}

/// A phone number serializes as E.164 (`+5585987696383`), what most providers ask for.
impl serde::Serialize for Phone {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.e164)
    }
}

/// For `#[serde(serialize_with)]`: the number as country code and number, digits only
/// (`5585987696383`).
pub fn as_international_digits<S: serde::Serializer>(
    phone: &Phone,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&phone.to_format(PhoneFormat::InternationalDigits))
}

/// Reads `cleaned` with `util`'s metadata: what [`Phone::parse`] does once the text is tidied.
fn parse_with(util: &PhoneNumberUtil, cleaned: &str, region: PhoneRegion) -> Result<Phone, String> {
    judge(util, util.parse(cleaned, Some(region.0)), region)
}

/// A parsed number, valid (perhaps once given its ninth digit) or refused with the reason.
fn judge(
    util: &PhoneNumberUtil,
    parsed: Result<PhoneNumber, ParseError>,
    region: PhoneRegion,
) -> Result<Phone, String> {
    let number =
        parsed.map_err(|_| format!("is not a phone number (read in region {})", region.code()))?;
    let valid = if util.is_valid_number(&number) {
        Some(number.clone())
    } else {
        with_ninth_digit(util, &number)
    };
    match valid {
        Some(number) => Ok(Phone {
            e164: util.format(&number, PhoneNumberFormat::E164).into_owned(),
            national: get_national_significant_number_owned(&number),
            in_region: util.get_region_for_number(&number) == Some(region.0),
        }),
        None if lacks_area_code(&number) => {
            Err("has no area code (DDD): write it with one, as in (85) 98769-6383".into())
        }
        None => Err(format!(
            "is not a valid phone number (read in region {})",
            region.code()
        )),
    }
}

/// Brazil's country calling code.
const BRAZIL: i32 = 55;

/// A Brazilian mobile written the old way: an area code and eight digits starting with 6 to 9
/// (the mobile ranges before the ninth digit). Since 2016 every such mobile has a 9 in front of
/// those eight digits; the number with it, if that is a valid number.
fn with_ninth_digit(util: &PhoneNumberUtil, number: &PhoneNumber) -> Option<PhoneNumber> {
    if number.country_code != BRAZIL {
        return None;
    }
    let national = get_national_significant_number_owned(number);
    let (area, subscriber) = national.split_at_checked(2)?;
    if subscriber.len() != 8 || !matches!(subscriber.as_bytes()[0], b'6'..=b'9') {
        return None;
    }
    let candidate = util
        .parse(format!("+{BRAZIL}{area}9{subscriber}"), None)
        .ok()?;
    util.is_valid_number(&candidate).then_some(candidate)
}

/// A Brazilian number of eight or nine digits: a phone number without its area code.
fn lacks_area_code(number: &PhoneNumber) -> bool {
    number.country_code == BRAZIL
        && matches!(get_national_significant_number_owned(number).len(), 8 | 9)
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
        // A long field is refused before it is read.
        let long = br(&"(85) 9".repeat(10_000), PhoneFormat::E164).unwrap_err();
        assert!(long.contains("longer than a phone number"), "{long}");
        assert_eq!(
            br("+ 5 5  ( 8 5 )  9 8 7 6 9 - 6 3 8 3", PhoneFormat::E164).unwrap(),
            "+5585987696383"
        );
    }

    #[test]
    fn the_default_region_is_configurable() {
        let pt: PhoneRegion = "pt".parse().unwrap();
        let phone = Phone::parse("912 345 678", pt).unwrap();
        assert_eq!(phone.to_format(PhoneFormat::E164), "+351912345678");
        assert_eq!(phone.to_format(PhoneFormat::NationalDigits), "912345678");
        assert!("XX1".parse::<PhoneRegion>().is_err());
        assert!("XX".parse::<PhoneRegion>().is_err());
    }

    #[test]
    fn real_brazilian_input_in_a_table() {
        // (as typed into a form, E.164 or the reason it is refused)
        let table: &[(&str, Result<&str, &str>)] = &[
            ("(85) 98769-6383", Ok("+5585987696383")),
            ("85 98769 6383", Ok("+5585987696383")),
            ("85.98769.6383", Ok("+5585987696383")),
            ("085 98769-6383", Ok("+5585987696383")),
            ("0xx85 98769-6383", Ok("+5585987696383")),
            ("0 21 85 98769-6383", Ok("+5585987696383")),
            ("0 15 11 98765-4321", Ok("+5511987654321")),
            ("+55 (11) 98765-4321", Ok("+5511987654321")),
            ("5511987654321", Ok("+5511987654321")),
            ("(11) 3456-7890", Ok("+551134567890")),
            // Eight-digit mobiles, as written before 2016.
            ("(85) 8769-6383", Ok("+5585987696383")),
            ("+55 85 8769-6383", Ok("+5585987696383")),
            ("85 87696383", Ok("+5585987696383")),
            ("(11) 9876-5432", Ok("+5511998765432")),
            // No area code.
            ("98769-6383", Err("no area code")),
            ("8769-6383", Err("no area code")),
            ("+55 98769-6383", Err("no area code")),
            // Other countries keep their own rules.
            ("+351 912 345 678", Ok("+351912345678")),
            ("+1 (415) 555-2671", Ok("+14155552671")),
            ("00 351 912 345 678", Ok("+351912345678")),
            ("+351 8769 6383", Err("not a valid")),
            ("", Err("must not be empty")),
            ("ligar depois", Err("not a phone number")),
        ];
        for (raw, expected) in table {
            let got = br(raw, PhoneFormat::E164);
            match (expected, &got) {
                (Ok(e164), Ok(got)) => assert_eq!(got, e164, "{raw:?}"),
                (Err(part), Err(why)) => assert!(why.contains(part), "{raw:?}: {why}"),
                _ => panic!("{raw:?}: expected {expected:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn brazil_alone_reads_what_it_reads_as_the_whole_set_does() {
        let brazil = BRAZIL_ONLY.as_ref().expect("the embedded metadata loads");
        let region = PhoneRegion::default();
        let mut read_alone = 0;
        for raw in [
            "(85) 98769-6383",
            "+55 85 98769-6383",
            "085 98769-6383",
            "0 21 85 98769-6383",
            "(85) 8769-6383",
            "(11) 3456-7890",
            "0800 123 4567",
            "4004-0001",
            "+5511987654321",
            "(21) 7654-3210",
            "98769-6383",
            "12345",
            "+351 912 345 678",
            "+1 415 555 2671",
            "+55 98769-6383",
        ] {
            let whole = parse_with(&PHONE_NUMBER_UTIL, raw, region);
            if let Ok(alone) = parse_with(brazil, raw, region) {
                read_alone += 1;
                assert_eq!(Ok(&alone), whole.as_ref(), "{raw:?}");
            }
            assert_eq!(Phone::parse(raw, region), whole, "{raw:?}");
        }
        assert!(
            read_alone >= 8,
            "Brazilian numbers are read without the whole set"
        );
        assert!(parse_with(brazil, "+351 912 345 678", region).is_err());
    }
}
