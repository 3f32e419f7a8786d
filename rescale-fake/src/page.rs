//! DRF page-number pagination: `page` from 1, `page_size` capped, absolute `next`/`previous`.

use std::ops::Range;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use crate::state::Shared;
use crate::util;

/// The page a list request asks for.
pub struct PageReq {
    page: usize,
    size: usize,
    /// `http://127.0.0.1:PORT/api/v2/...` as requested, without the query.
    url: String,
    /// The raw query pieces other than `page` and `page_size`.
    rest: Vec<String>,
}

impl PageReq {
    /// Reads `page` and `page_size`; a bad `page` is DRF's 404 "Invalid page.".
    pub fn parse(
        shared: &Shared,
        path: &str,
        query: Option<&str>,
    ) -> Result<PageReq, Box<Response>> {
        let pairs = util::query_pairs(query);
        let page = match util::query_get(&pairs, "page") {
            None => 1,
            Some(p) => match p.parse::<usize>() {
                Ok(n) if n >= 1 => n,
                _ => return Err(invalid_page()),
            },
        };
        let size = util::query_get(&pairs, "page_size")
            .and_then(|s| s.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .map_or(shared.config.default_page_size, |n| {
                n.min(shared.config.max_page_size)
            })
            .max(1);
        let rest = query
            .unwrap_or("")
            .split('&')
            .filter(|p| {
                let key = p.split('=').next().unwrap_or("");
                !p.is_empty() && key != "page" && key != "page_size"
            })
            .map(str::to_owned)
            .collect();
        Ok(PageReq {
            page,
            size,
            url: format!("{}{}", shared.origin, path),
            rest,
        })
    }

    /// The index range of this page among `count` items; past the end is 404.
    pub fn range(&self, count: usize) -> Result<Range<usize>, Box<Response>> {
        let pages = count.div_ceil(self.size).max(1);
        if self.page > pages {
            return Err(invalid_page());
        }
        let start = (self.page - 1) * self.size;
        Ok(start..(start + self.size).min(count))
    }

    fn link(&self, page: usize) -> String {
        let mut query = format!("page={page}&page_size={}", self.size);
        for piece in &self.rest {
            query.push('&');
            query.push_str(piece);
        }
        format!("{}?{query}", self.url)
    }

    /// The page answer for `results` (the items of [`PageReq::range`]) out of `count`.
    pub fn answer<T: Serialize>(&self, count: usize, results: &[T]) -> Response {
        let body = Body {
            count,
            next: (self.page * self.size < count).then(|| self.link(self.page + 1)),
            previous: (self.page > 1).then(|| self.link(self.page - 1)),
            results,
        };
        match serde_json::to_vec(&body) {
            Ok(bytes) => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                bytes,
            )
                .into_response(),
            Err(_) => util::json_response(StatusCode::INTERNAL_SERVER_ERROR, Value::Null),
        }
    }

    /// Paginates a fully built list.
    pub fn respond(&self, items: Vec<Value>) -> Response {
        match self.range(items.len()) {
            Err(resp) => *resp,
            Ok(range) => self.answer(items.len(), &items[range]),
        }
    }
}

/// A page as DRF answers it.
#[derive(Serialize)]
struct Body<'a, T> {
    count: usize,
    next: Option<String>,
    previous: Option<String>,
    results: &'a [T],
}

/// A list handler's outcome: a page of items, serialised by [`Page::into_response`] once
/// the state's lock is released, or an answer already made (an invalid page).
pub enum Page<T> {
    Items {
        req: PageReq,
        count: usize,
        results: Vec<T>,
    },
    Answered(Response),
}

impl<T: Serialize> Page<T> {
    /// The HTTP answer.
    pub fn into_response(self) -> Response {
        match self {
            Page::Items {
                req,
                count,
                results,
            } => req.answer(count, &results),
            Page::Answered(resp) => resp,
        }
    }
}

fn invalid_page() -> Box<Response> {
    Box::new(util::detail(StatusCode::NOT_FOUND, "Invalid page."))
}
