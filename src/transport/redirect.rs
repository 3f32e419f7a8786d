//! Redirects, followed by the transport itself rather than by reqwest, so that the key
//! goes only to the configured origin whatever the chain: reqwest rebuilds every hop from
//! the first request's headers and compares only the last two hops, so a chain A → B → B
//! would carry the key to B.

use reqwest::header::{HeaderValue, LOCATION};
use reqwest::{Method, StatusCode};
use url::Url;

/// The longest chain of redirects followed in one attempt.
pub(crate) const MAX_REDIRECTS: usize = 10;

/// Where a redirect answer sends the request next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Hop {
    pub(crate) method: Method,
    pub(crate) url: Url,
    /// `false` when the next request is a GET made from a POST: its body is dropped.
    pub(crate) keep_body: bool,
}

/// Why a redirect answer cannot be followed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Its `Location` is not an http(s) URL.
    BadLocation(String),
}

/// The hop to follow after a non-2xx `response` to `method url`, counting it in `hops`;
/// otherwise the note that replaces the service's message in the error (`None`: the
/// answer is not a redirect, and its own message stands).
#[cold]
pub(crate) fn follow(
    response: &reqwest::Response,
    method: &Method,
    url: &Url,
    hops: &mut usize,
) -> Result<Hop, Option<String>> {
    let status = response.status();
    match next_hop(status, response.headers().get(LOCATION), method, url) {
        None => Err(None),
        Some(Ok(hop)) if *hops < MAX_REDIRECTS => {
            *hops += 1;
            Ok(hop)
        }
        Some(Ok(_)) => Err(Some(format!("stopped after {MAX_REDIRECTS} redirects"))),
        Some(Err(Refused::BadLocation(why))) => Err(Some(why)),
    }
}

/// The hop a 301, 302, 303, 307 or 308 answer with a `Location` asks for; `None` for any
/// other answer, which is returned as it is.
///
/// 303 turns any method but HEAD into a GET; 301 and 302 turn a POST into a GET, as
/// browsers and reqwest do; 307 and 308 keep the method and the body.
pub(crate) fn next_hop(
    status: StatusCode,
    location: Option<&HeaderValue>,
    method: &Method,
    current: &Url,
) -> Option<Result<Hop, Refused>> {
    let to_get = match status.as_u16() {
        303 => *method != Method::HEAD,
        301 | 302 => *method == Method::POST,
        307 | 308 => false,
        _ => return None,
    };
    let location = location?;
    let text = String::from_utf8_lossy(location.as_bytes());
    let url = match current.join(&text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => url,
        _ => {
            return Some(Err(Refused::BadLocation(
                "the redirect's Location is not an http(s) URL".into(),
            )));
        }
    };
    Some(Ok(Hop {
        method: if to_get { Method::GET } else { method.clone() },
        url,
        keep_body: !to_get,
    }))
}

/// `true` when `a` and `b` have one scheme, host and port: the parts of `Url::origin`,
/// compared without building two origins per request.
pub(super) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host() == b.host()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// A client given with [`ClientBuilder::http_client`](crate::ClientBuilder::http_client)
/// must leave redirects to the transport; one that followed a redirect itself may have
/// sent the key along the chain, so its answer is refused, loudly.
pub(super) fn refuse_followed(response: &reqwest::Response, requested: &Url) -> crate::Result<()> {
    let got = response.url();
    if same_origin(got, requested)
        && got.path() == requested.path()
        && got.query() == requested.query()
    {
        Ok(())
    } else {
        Err(crate::Error::Config(
            "the HTTP client followed a redirect itself; build the reqwest::Client given to \
             ClientBuilder::http_client with `redirect(reqwest::redirect::Policy::none())`: \
             the crate follows redirects, and keeps the key on the configured origin"
                .into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(status: u16, method: Method, location: &str) -> Option<Result<Hop, Refused>> {
        let current = Url::parse("https://a.example/api/v2/jobs/x/").unwrap();
        next_hop(
            StatusCode::from_u16(status).unwrap(),
            Some(&HeaderValue::from_str(location).unwrap()),
            &method,
            &current,
        )
    }

    #[test]
    fn methods_change_as_the_status_says() {
        let h = hop(303, Method::POST, "/elsewhere/").unwrap().unwrap();
        assert_eq!((h.method, h.keep_body), (Method::GET, false));
        assert_eq!(h.url.as_str(), "https://a.example/elsewhere/");
        let h = hop(302, Method::POST, "https://b.example/")
            .unwrap()
            .unwrap();
        assert_eq!((h.method, h.keep_body), (Method::GET, false));
        let h = hop(302, Method::PUT, "b/").unwrap().unwrap();
        assert_eq!((h.method, h.keep_body), (Method::PUT, true));
        assert_eq!(h.url.as_str(), "https://a.example/api/v2/jobs/x/b/");
        for status in [307, 308] {
            let h = hop(status, Method::POST, "/p/").unwrap().unwrap();
            assert_eq!((h.method, h.keep_body), (Method::POST, true));
        }
        let h = hop(303, Method::HEAD, "/p/").unwrap().unwrap();
        assert_eq!(h.method, Method::HEAD);
    }

    #[test]
    fn other_answers_and_bad_locations_are_not_followed() {
        assert!(hop(300, Method::GET, "/p/").is_none());
        assert!(hop(304, Method::GET, "/p/").is_none());
        assert!(matches!(
            hop(302, Method::GET, "ftp://b.example/"),
            Some(Err(Refused::BadLocation(_)))
        ));
        let current = Url::parse("https://a.example/").unwrap();
        assert!(next_hop(StatusCode::FOUND, None, &Method::GET, &current).is_none());
    }
}
