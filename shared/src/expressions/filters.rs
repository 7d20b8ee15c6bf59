//! The filters forms need beyond the engine's own (`default`, `trim`, `upper`, `lower`,
//! `join`…): each works on what people type into forms, in Portuguese as in English.

use crate::phone::{Phone, PhoneFormat, PhoneRegion};
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use minijinja::{Error, ErrorKind};

/// The zone dates are written in unless a filter names another: Brasília time.
pub const DEFAULT_TIME_ZONE: &str = "America/Sao_Paulo";
/// How `date` writes a date and time unless told: `21/11/2026 09:00`.
pub const DEFAULT_DATE_FORMAT: &str = "%d/%m/%Y %H:%M";

fn refused(why: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, why.into())
}

/// `{{ nome | first_name }}`: "Maria" of "  maria souza lima", capitalized as a name.
pub fn first_name(value: String) -> String {
    value
        .split_whitespace()
        .next()
        .map(capitalize_word)
        .unwrap_or_default()
}

/// Words that stay lower case inside a Portuguese name ("Maria da Silva").
const PARTICLES: &[&str] = &["da", "das", "de", "do", "dos", "e", "di", "du", "del"];

/// `{{ nome | title }}`: "Maria da Silva" of "MARIA DA SILVA"; the particles of Portuguese names
/// stay lower case except at the start.
pub fn title(value: String) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, word) in value.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let lower = word.to_lowercase();
        if i > 0 && PARTICLES.contains(&lower.as_str()) {
            out.push_str(&lower);
        } else {
            out.push_str(&capitalize_word(word));
        }
    }
    out
}

/// Upper-cases the first letter of each part of a word ("Ana-Clara", "D'Ávila").
fn capitalize_word(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut start = true;
    for c in word.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        start = matches!(c, '-' | '\'' | '’');
    }
    out
}

/// `{{ cpf | digits }}`: "12345678900" of "123.456.789-00".
pub fn digits(value: String) -> String {
    value.chars().filter(char::is_ascii_digit).collect()
}

/// `{{ mensagem | truncate(100) }}`: the first 100 characters (characters, not bytes), cut
/// exactly there: providers limit fields in characters.
pub fn truncate(value: String, length: usize) -> String {
    match value.char_indices().nth(length) {
        Some((at, _)) => value[..at].to_string(),
        None => value,
    }
}

/// `{{ submitted_at | date }}`, `{{ data | date("%d/%m/%Y") }}`,
/// `{{ submitted_at | date("%H:%M", "America/Manaus") }}`: a time written in a time zone
/// (Brasília's unless named). Reads RFC 3339 times (`2026-11-21T12:00:00Z`), times without a
/// zone (`2026-11-21 09:00`, taken as already in the zone), dates (`2026-11-21`, `21/11/2026`)
/// and seconds or milliseconds since 1970.
pub fn date(value: String, format: Option<String>, zone: Option<String>) -> Result<String, Error> {
    let zone_name = zone.as_deref().unwrap_or(DEFAULT_TIME_ZONE);
    let tz = TimeZone::get(zone_name).map_err(|_| {
        refused(format!(
            "{zone_name:?} is not a time zone such as America/Sao_Paulo"
        ))
    })?;
    // The answer itself is not repeated: messages reach logs, and answers are personal data.
    let zoned = read_time(value.trim(), &tz).ok_or_else(|| {
        refused("is not a date or time (2026-11-21T12:00:00Z, 2026-11-21 09:00, 21/11/2026)")
    })?;
    let format = format.as_deref().unwrap_or(DEFAULT_DATE_FORMAT);
    jiff::fmt::strtime::format(format, &zoned)
        .map_err(|e| refused(format!("the format {format:?} cannot be written: {e}")))
}

fn read_time(text: &str, tz: &TimeZone) -> Option<Zoned> {
    if let Ok(at) = text.parse::<Timestamp>() {
        return Some(at.to_zoned(tz.clone()));
    }
    if !text.is_empty() && text.len() <= 13 && text.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = text.parse().ok()?;
        // Ten digits are seconds until the year 2286; thirteen are milliseconds.
        let at = if text.len() > 10 {
            Timestamp::from_millisecond(n).ok()?
        } else {
            Timestamp::from_second(n).ok()?
        };
        return Some(at.to_zoned(tz.clone()));
    }
    if let Ok(civil) = text.replacen(' ', "T", 1).parse::<DateTime>() {
        return civil.to_zoned(tz.clone()).ok();
    }
    let date = text.parse::<Date>().ok().or_else(|| brazilian_date(text))?;
    date.to_zoned(tz.clone()).ok()
}

/// `21/11/2026`, as Brazilian forms write dates.
fn brazilian_date(text: &str) -> Option<Date> {
    let mut parts = text.splitn(3, '/');
    let day: i8 = parts.next()?.trim().parse().ok()?;
    let month: i8 = parts.next()?.trim().parse().ok()?;
    let year: i16 = parts.next()?.trim().parse().ok()?;
    Date::new(year, month, day).ok()
}

/// `{{ whatsapp | phone }}`, `{{ telefone | phone("PT") }}`: the number in E.164
/// (`+5585987696383`), read in Brazil unless a country is named; a text that is no phone number
/// is refused, naming why.
pub fn phone(value: String, region: Option<String>) -> Result<String, Error> {
    let region = match region {
        Some(code) => code.parse::<PhoneRegion>().map_err(refused)?,
        None => PhoneRegion::default(),
    };
    Phone::parse(&value, region)
        .map(|p| p.to_format(PhoneFormat::E164))
        .map_err(|why| refused(format!("is not a phone number: it {why}")))
}

/// `{{ phone_from(ddi, ddd, numero) }}`: a number asked in three fields ("55", "(85)",
/// "98769-6383"), joined and read as an international number; without the country code
/// (`phone_from(ddd, numero)`) it is read in Brazil.
pub fn phone_from(parts: minijinja::value::Rest<String>) -> Result<String, Error> {
    let joined: Vec<String> = parts.iter().map(|p| digits(p.clone())).collect();
    match joined.len() {
        3 => phone(format!("+{}", joined.concat()), None),
        2 => phone(joined.concat(), None),
        n => Err(refused(format!(
            "phone_from() takes the country code, area code and number, or the area code and number; it was given {n} parts"
        ))),
    }
}
