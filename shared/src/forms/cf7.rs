//! Contact Form 7, through the "CF7 to Webhook" plugin: a flat JSON object of the form's field
//! names (`your-name`, `your-email`, `your-subject`, `your-message`…) and their values. The
//! names without the `your-` prefix are aliases, so `{{name}}` finds `your-name`.

use super::body::json_object;
use super::{Decoded, Submission};
use crate::failure::Failure;

pub fn decode(body: &[u8]) -> Result<Decoded, Failure> {
    let object = json_object(body, "Contact Form 7")?;
    let mut submission = Submission::default();
    super::generic::add_fields(&mut submission, &object, "");
    for field in &mut submission.fields {
        if let Some(short) = field.key.strip_prefix("your-") {
            field.aliases.push(short.to_string());
        }
    }
    Ok(Decoded::Submissions(vec![submission]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn your_prefixes_become_aliases() {
        let body = r#"{"your-name": "Maria", "your-email": "maria@example.com", "your-message": "Olá", "checkbox-1": ["A", "B"]}"#;
        let Decoded::Submissions(s) = decode(body.as_bytes()).unwrap() else {
            panic!()
        };
        let name = s[0].fields.iter().find(|f| f.key == "your-name").unwrap();
        assert_eq!(name.aliases, ["name"]);
        assert_eq!(
            s[0].fields
                .iter()
                .find(|f| f.key == "checkbox-1")
                .unwrap()
                .value
                .display(),
            "A, B"
        );
    }
}
