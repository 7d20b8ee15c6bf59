//! The endpoint of an HTTP request: a direct call, whose body is the provider's own request, or a
//! form webhook from a named source. The URL says which; nothing is guessed from the body.

use crate::failure::Failure;
use crate::forms::Source;
use crate::trigger::HttpRequest;
use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The body is the provider's request, as the action's contract writes it.
    Direct,
    /// The body is a form builder's submission (or several), mapped onto the request.
    Form(Source),
}

/// The name a direct call's settings are kept under in the connection secret
/// (`webhooks.direct`), beside each source's.
pub use crate::webhooks::DIRECT;

impl Endpoint {
    /// The endpoint `request`'s URL names: no source is a direct call; a source that is not one of
    /// Ponte's is refused by name.
    pub fn of(request: &HttpRequest) -> Result<Self, Failure> {
        match request.source.as_deref() {
            None => Ok(Endpoint::Direct),
            Some(name) => name
                .parse::<Source>()
                .map(Endpoint::Form)
                .map_err(Failure::UnknownSource),
        }
    }

    /// Its name in the connection secret's `webhooks` and in log lines: `direct` or the
    /// source's name.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Direct => DIRECT,
            Endpoint::Form(source) => source.name(),
        }
    }

    /// The form source, for a form webhook.
    pub fn source(self) -> Option<Source> {
        match self {
            Endpoint::Direct => None,
            Endpoint::Form(source) => Some(source),
        }
    }

    /// The header carrying an HMAC signature of the body, for sources that sign.
    pub fn signature_header(self) -> Option<&'static str> {
        self.source().and_then(Source::signature_header)
    }

    /// How long the sender waits for an answer, when it says.
    pub fn answer_within(self) -> Option<Duration> {
        self.source().and_then(Source::answer_within)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trigger::HttpOrigin;
    use lambda_http::http::HeaderMap;

    fn request(source: Option<&str>) -> HttpRequest {
        HttpRequest {
            origin: HttpOrigin::HttpV2,
            method: "POST".into(),
            headers: HeaderMap::new(),
            query: Vec::new(),
            source: source.map(str::to_string),
            body: None,
            is_base64_encoded: false,
        }
    }

    #[test]
    fn the_url_names_the_route() {
        assert_eq!(Endpoint::of(&request(None)).unwrap(), Endpoint::Direct);
        let tally = Endpoint::of(&request(Some("Tally"))).unwrap();
        assert_eq!(tally, Endpoint::Form(Source::Tally));
        assert_eq!(tally.name(), "tally");
        assert_eq!(tally.signature_header(), Some("tally-signature"));
        assert_eq!(Endpoint::Direct.name(), DIRECT);
        assert_eq!(Endpoint::Direct.signature_header(), None);
        let unknown = Endpoint::of(&request(Some("elementer"))).unwrap_err();
        assert_eq!(unknown.kind(), "unknown_source");
        assert!(unknown.to_string().contains("elementor"), "{unknown}");
    }
}
