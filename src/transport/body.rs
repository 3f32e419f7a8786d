//! Reading answers: a whole body under a size cap, a streamed body under the read-idle
//! timeout, JSON decoding that names the path of a bad value, and `Retry-After`.

use std::time::Duration;

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::HeaderValue;
use serde::de::DeserializeOwned;

use super::{Transport, map_reqwest};
use crate::error::{Error, Redactor, Result, snippet};

/// The most a body's buffer reserves before its bytes arrive.
const PREALLOCATE_AT_MOST: usize = 1024 * 1024;

impl Transport {
    /// The next chunk of a streamed body (a download), cut with [`Error::Timeout`] when no
    /// byte arrives within the read-idle timeout. A total timeout would cut a long
    /// download that is still making progress; this only cuts a stall.
    pub(crate) async fn next_chunk(
        &self,
        response: &mut reqwest::Response,
    ) -> Result<Option<Bytes>> {
        let idle = self.settings.read_idle_timeout;
        match tokio::time::timeout(idle, response.chunk()).await {
            Ok(chunk) => chunk.map_err(map_reqwest),
            Err(_) => Err(Error::Timeout(format!(
                "no data for {idle:?} while reading the body"
            ))),
        }
    }

    /// Reads a whole body, refusing one larger than the cap instead of running out of memory.
    ///
    /// Read chunk by chunk (a small future, unlike `Response::bytes`); a body that comes in
    /// one chunk, as most answers do, is returned as it came, without a copy.
    pub(super) async fn read_body(&self, mut response: reqwest::Response) -> Result<Bytes> {
        let status = response.status();
        let max = self.settings.max_body_bytes;
        let too_large = || {
            let message = format!("the response body is larger than the {max} byte limit");
            Error::decode(status, "", message, "")
        };
        let announced = response.content_length();
        if announced.is_some_and(|n| n > max as u64) {
            return Err(too_large());
        }
        let Some(first) = response.chunk().await.map_err(map_reqwest)? else {
            return Ok(Bytes::new());
        };
        if first.len() > max {
            return Err(too_large());
        }
        let Some(second) = response.chunk().await.map_err(map_reqwest)? else {
            return Ok(first);
        };
        // Room for the announced length (at most `max` here), or for twice what came so
        // far; never more than `PREALLOCATE_AT_MOST` up front, as a `Content-Length` is only
        // the server's word: past that, the buffer grows with what arrives.
        let capacity = announced.map_or(2 * (first.len() + second.len()), |n| n as usize);
        let mut buf = Vec::with_capacity(capacity.min(max).min(PREALLOCATE_AT_MOST));
        let mut next = Some(second);
        buf.extend_from_slice(&first);
        while let Some(chunk) = next {
            if buf.len() + chunk.len() > max {
                return Err(too_large());
            }
            buf.extend_from_slice(&chunk);
            next = response.chunk().await.map_err(map_reqwest)?;
        }
        Ok(Bytes::from(buf))
    }
}

/// Decodes a JSON body, naming the JSON path of the first value that does not fit. The
/// snippet of a body that does not decode has the key taken out before it is cut.
pub(crate) fn decode<T: DeserializeOwned>(
    status: StatusCode,
    body: &[u8],
    redactor: &Redactor,
) -> Result<T> {
    // Tracking the path halves decoding speed (benches/compare), so only a failure pays it.
    if let Ok(value) = serde_json::from_slice(body) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let body = snippet(&redactor.text(&String::from_utf8_lossy(body)));
        Error::decode(status, path, e.into_inner().to_string(), body)
    })
}

/// `Retry-After` as seconds (`120`) or as an HTTP date (`Wed, 21 Oct 2015 07:28:00 GMT`).
pub(crate) fn parse_retry_after(value: Option<&HeaderValue>) -> Option<Duration> {
    let text = value?.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(text).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let v = HeaderValue::from_static("7");
        assert_eq!(parse_retry_after(Some(&v)), Some(Duration::from_secs(7)));
        let past = HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT");
        assert_eq!(parse_retry_after(Some(&past)), Some(Duration::ZERO));
        let future =
            httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(30));
        let got = parse_retry_after(Some(&HeaderValue::from_str(&future).unwrap())).unwrap();
        assert!(
            got > Duration::from_secs(25) && got <= Duration::from_secs(30),
            "{got:?}"
        );
        assert_eq!(
            parse_retry_after(Some(&HeaderValue::from_static("soon"))),
            None
        );
    }

    #[test]
    fn decode_error_names_the_json_path() {
        #[derive(Debug, serde::Deserialize)]
        struct Outer {
            #[allow(dead_code)]
            results: Vec<Inner>,
        }
        #[derive(Debug, serde::Deserialize)]
        struct Inner {
            #[allow(dead_code)]
            n: u32,
        }
        let err = decode::<Outer>(
            StatusCode::OK,
            br#"{"results":[{"n":1},{"n":"x"}]}"#,
            &Redactor::default(),
        )
        .unwrap_err();
        match err {
            Error::Decode { path, .. } => assert_eq!(path, "results[1].n"),
            other => panic!("{other:?}"),
        }
    }
}
