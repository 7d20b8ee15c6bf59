//! Reading webhook bodies: JSON, `application/x-www-form-urlencoded` and `multipart/form-data`.

use crate::failure::Failure;
use serde_json::Value;

/// The media type of a `Content-Type` header, lower-cased, without parameters.
pub fn media_type(content_type: Option<&str>) -> String {
    content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

pub fn json(body: &[u8]) -> Result<Value, Failure> {
    crate::json::parse(body)
}

/// `a=1&b=x+y` → `[("a", "1"), ("b", "x y")]`, in order.
pub fn urlencoded(body: &[u8]) -> Result<Vec<(String, String)>, Failure> {
    if std::str::from_utf8(body).is_err() {
        return Err(Failure::InvalidBody("the form body is not UTF-8".into()));
    }
    Ok(form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect())
}

/// The text parts of a multipart body, by name, in order. File parts are skipped (builders send
/// uploads as links in text fields).
pub fn multipart(
    body: &[u8],
    content_type: Option<&str>,
) -> Result<Vec<(String, String)>, Failure> {
    let boundary = content_type
        .and_then(|ct| multer::parse_boundary(ct).ok())
        .ok_or_else(|| {
            Failure::InvalidBody("a multipart body needs a Content-Type with its boundary".into())
        })?;
    let bytes = bytes::Bytes::copy_from_slice(body);
    let stream = futures::stream::once(async move { Ok::<_, std::convert::Infallible>(bytes) });
    let mut parts = multer::Multipart::new(stream, boundary);
    // multer is async only because it reads streams; the body is already whole in memory.
    let read = async move {
        let mut out = Vec::new();
        while let Some(field) = parts.next_field().await.map_err(multipart_error)? {
            let name = field.name().unwrap_or_default().to_string();
            if field.file_name().is_some() {
                continue;
            }
            let text = field.text().await.map_err(multipart_error)?;
            out.push((name, text));
        }
        Ok(out)
    };
    futures::executor::block_on(read)
}

fn multipart_error(err: multer::Error) -> Failure {
    Failure::InvalidBody(format!("the multipart body cannot be read: {err}"))
}

/// The JSON object of a body, or a failure saying what it was instead.
pub fn json_object(body: &[u8], source: &str) -> Result<serde_json::Map<String, Value>, Failure> {
    match json(body)? {
        Value::Object(map) => Ok(map),
        _ => Err(super::not_from(source, "the body is not a JSON object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlencoded_bodies_keep_order_and_decode_plus_and_percent() {
        let pairs = urlencoded(b"Seu+nome=Teste&Whatsapp=%2885%29+98769-6383&empty=").unwrap();
        assert_eq!(
            pairs,
            vec![
                ("Seu nome".into(), "Teste".into()),
                ("Whatsapp".into(), "(85) 98769-6383".into()),
                ("empty".into(), String::new())
            ]
        );
    }

    #[test]
    fn multipart_text_parts_are_read_and_files_skipped() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nfirst\r\n--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.png\"\r\nContent-Type: image/png\r\n\r\n\u{1}\u{2}\r\n--XyZ\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\nline 1\r\nline 2\r\n--XyZ--\r\n";
        let parts = multipart(body.as_bytes(), Some("multipart/form-data; boundary=XyZ")).unwrap();
        assert_eq!(
            parts,
            vec![
                ("a".into(), "first".into()),
                ("b".into(), "line 1\r\nline 2".into())
            ]
        );
        assert!(multipart(body.as_bytes(), Some("multipart/form-data")).is_err());
        assert!(multipart(b"garbage", Some("multipart/form-data; boundary=XyZ")).is_err());
    }

    #[test]
    fn media_types_ignore_parameters_and_case() {
        assert_eq!(
            media_type(Some("Application/JSON; charset=utf-8")),
            "application/json"
        );
        assert_eq!(media_type(None), "");
    }
}
