//! Masking of personal data for logs: enough left to tell two contacts apart, not enough to
//! contact anyone. Tokens are never logged at all, so there is nothing here for them.

/// `+5585987696383` → `+55*********83`.
pub fn phone(value: &str) -> String {
    keep_ends(value, 3, 2)
}

/// `maria.silva@example.com` → `m***@example.com`.
pub fn email(value: &str) -> String {
    match value.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => keep_ends(value, 1, 0),
    }
}

/// Any other identifier that might be personal (a contact id from a CRM).
pub fn identifier(value: &str) -> String {
    keep_ends(value, 2, 2)
}

fn keep_ends(value: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= head + tail + 2 {
        return "*".repeat(chars.len().max(3));
    }
    let mut out: String = chars[..head].iter().collect();
    out.push_str(&"*".repeat(chars.len() - head - tail));
    out.extend(&chars[chars.len() - tail..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_keep_country_and_last_digits() {
        assert_eq!(phone("+5585987696383"), "+55*********83");
        assert_eq!(phone("1234"), "****");
    }

    #[test]
    fn emails_keep_first_letter_and_domain() {
        assert_eq!(email("maria.silva@example.com"), "m***@example.com");
        assert_eq!(email("nonsense"), "n*******");
    }

    #[test]
    fn identifiers_keep_two_each_side() {
        assert_eq!(identifier("crm-000123"), "cr******23");
        assert_eq!(identifier("ab"), "***");
    }
}
