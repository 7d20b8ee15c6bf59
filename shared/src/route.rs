//! The route of an HTTP request: a direct call, whose body is the provider's own request, or a
//! form webhook from a named source. The URL says which; nothing is guessed from the body.

use crate::failure::Failure;
use crate::forms::Source;
use crate::trigger::HttpRequest;
use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The body is the provider's request, as the action's contract writes it.
    Direct,
    /// The body is a form builder's submission (or several), mapped onto the request.
    Form(Source),
}

/// The name a direct call's settings are kept under in the connection secret
/// (`webhooks.direct`), beside each source's.
pub use crate::webhooks::DIRECT;

impl Route {
    /// The route `request`'s URL names: no source is a direct call; a source that is not one of
    /// Ponte's is refused by name.
    pub fn of(request: &HttpRequest) -> Result<Self, Failure> {
        match request.source.as_deref() {
            None => Ok(Route::Direct),
            Some(name) => name
                .parse::<Source>()
                .map(Route::Form)
                .map_err(Failure::UnknownSource),
        }
    }

    /// Its name in the connection secret's `webhooks` and in log lines: `direct` or the
    /// source's name.
    pub fn name(self) -> &'static str {
        match self {
            Route::Direct => DIRECT,
            Route::Form(source) => source.name(),
        }
    }

    /// The form source, for a form webhook.
    pub fn source(self) -> Option<Source> {
        match self {
            Route::Direct => None,
            Route::Form(source) => Some(source),
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

impl fmt::Display for Route {
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
        assert_eq!(Route::of(&request(None)).unwrap(), Route::Direct);
        let tally = Route::of(&request(Some("Tally"))).unwrap();
        assert_eq!(tally, Route::Form(Source::Tally));
        assert_eq!(tally.name(), "tally");
        assert_eq!(tally.signature_header(), Some("tally-signature"));
        assert_eq!(Route::Direct.name(), DIRECT);
        assert_eq!(Route::Direct.signature_header(), None);
        let unknown = Route::of(&request(Some("elementer"))).unwrap_err();
        assert_eq!(unknown.kind(), "unknown_source");
        assert!(unknown.to_string().contains("elementor"), "{unknown}");
    }
}
