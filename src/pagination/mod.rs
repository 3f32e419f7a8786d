//! [`Page`] and [`ListRequest`]: one list request for every paginated endpoint.

use std::collections::HashSet;
use std::marker::PhantomData;

use futures::future::Either;
use futures::stream::{self, BoxStream, StreamExt};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tracing::Instrument;
use url::Url;

use crate::client::Client;
use crate::error::{Error, Invalid, Result};
use crate::serde_util::{null_as_default, opt_u64};
use crate::transport::ApiRequest;

mod numbered;

/// One page of a list: `{"count", "next", "previous", "results"}`.
///
/// Missing keys read as `None` (the service has been seen to omit `next`, and to spell
/// `previous` as `prev`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Page<T> {
    /// How many items the whole list holds.
    #[serde(default, deserialize_with = "opt_u64")]
    pub count: Option<u64>,
    /// Absolute URL of the next page, if there is one.
    #[serde(default)]
    pub next: Option<String>,
    /// Absolute URL of the previous page, if there is one.
    #[serde(default, alias = "prev")]
    pub previous: Option<String>,
    /// The items of this page.
    #[serde(
        default = "Vec::new",
        deserialize_with = "null_as_default",
        bound(deserialize = "T: Deserialize<'de>")
    )]
    pub results: Vec<T>,
}

/// A stream of every item of a list, across pages: `Send + 'static`, so it can be stored
/// or spawned. Ends after the first error it yields.
pub type ItemStream<T> = BoxStream<'static, Result<T>>;

/// A stream of the pages of a list.
pub type PageStream<T> = BoxStream<'static, Result<Page<T>>>;

/// How many pages a list stream fetches ahead of the caller unless told otherwise.
const DEFAULT_PREFETCH: usize = 1;

/// The page size a stream asks for unless the caller sets one: the largest the service is
/// known to honour (Rescale's own tools use it).
pub(crate) const LARGEST_PAGE_SIZE: u32 = 1000;

/// How many pages a stream fetches at once by number, once the first page told the count,
/// unless told otherwise. Measured at 20 ms a response (`cargo bench --bench compare`,
/// 10,001 jobs, 11 pages of 1000): 658 ms one page at a time, 495 to 542 ms with 2 to 8
/// at once, 353 ms with all 10 remaining pages at once; 10 lists an account of 10,000 jobs
/// in two rounds while keeping at most 10 pages of 1000 in memory.
const DEFAULT_CONCURRENCY: usize = 10;

/// An item with an id, by which a list fetched concurrently yields it once.
pub(crate) trait Identified {
    /// The item's id.
    fn item_id(&self) -> &str;
}

impl Identified for crate::jobs::JobSummary {
    fn item_id(&self) -> &str {
        self.id.as_str()
    }
}

impl Identified for crate::files::JobFile {
    fn item_id(&self) -> &str {
        &self.id
    }
}

impl Identified for crate::jobs::Run {
    fn item_id(&self) -> &str {
        &self.id
    }
}

/// A request for a paginated list. Set the page size and filters, then take one page with
/// [`page`](ListRequest::page) or every item with [`stream`](ListRequest::stream).
///
/// ```no_run
/// use futures::TryStreamExt;
/// # async fn demo(client: rescale::Client) -> rescale::Result<()> {
/// let first = client.jobs().list().page_size(10).page(1).await?;
/// println!("{:?} jobs in all", first.count);
///
/// let mut all = client.jobs().list().page_size(100).stream();
/// while let Some(job) = all.try_next().await? {
///     println!("{} {}", job.id, job.name);
/// }
/// # Ok(()) }
/// ```
#[must_use = "a list request does nothing until you call `.page(n)` or `.stream()`"]
pub struct ListRequest<T> {
    client: Client,
    target: std::result::Result<Url, Invalid>,
    /// Parameters every page must carry (page size, filters), in the order set.
    params: Vec<(String, String)>,
    /// How many pages the stream fetches ahead of the caller.
    prefetch: usize,
    /// How many pages the stream fetches at once by number.
    concurrency: usize,
    /// The id of an item, for lists whose items have one.
    id_of: Option<fn(&T) -> &str>,
    _item: PhantomData<fn() -> T>,
}

impl<T> Clone for ListRequest<T> {
    fn clone(&self) -> Self {
        ListRequest {
            client: self.client.clone(),
            target: self.target.clone(),
            params: self.params.clone(),
            prefetch: self.prefetch,
            concurrency: self.concurrency,
            id_of: self.id_of,
            _item: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for ListRequest<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListRequest")
            .field("url", &self.target.as_ref().map(Url::as_str))
            .field("params", &self.params)
            .field("prefetch", &self.prefetch)
            .field("concurrency", &self.concurrency)
            .finish()
    }
}

impl<T: DeserializeOwned + Send + 'static> ListRequest<T> {
    /// A list of the endpoint at `target`; an `Err` is the invalid input that made the
    /// endpoint unbuildable (`(field, reason)`), reported when the list is used.
    pub(crate) fn new(client: Client, target: std::result::Result<Url, Invalid>) -> Self {
        ListRequest {
            client,
            target,
            params: Vec::new(),
            prefetch: DEFAULT_PREFETCH,
            concurrency: DEFAULT_CONCURRENCY,
            id_of: None,
            _item: PhantomData,
        }
    }

    /// A list whose items have ids: its stream may fetch pages concurrently, and yields
    /// an item that shifted between pages once.
    pub(crate) fn with_ids(client: Client, target: std::result::Result<Url, Invalid>) -> Self
    where
        T: Identified,
    {
        ListRequest {
            id_of: Some(T::item_id),
            ..Self::new(client, target)
        }
    }

    /// Sets a query parameter every page carries, replacing an earlier value.
    pub(crate) fn param(mut self, key: &str, value: impl Into<String>) -> Self {
        let value = value.into();
        match self.params.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.params.push((key.to_owned(), value)),
        }
        self
    }

    /// Items per page. The service's default is small (10 or 25); Rescale's own tools use
    /// up to 1000, which [`stream`](ListRequest::stream) and [`pages`](ListRequest::pages)
    /// ask for unless this is set ([`page`](ListRequest::page) sends no size unless set).
    /// Must be at least 1.
    pub fn page_size(self, size: u32) -> Self {
        self.param("page_size", size.to_string())
    }

    /// How many pages [`stream`](ListRequest::stream) and [`pages`](ListRequest::pages)
    /// fetch at once, by page number, once the first page has told how many items the
    /// list holds: 10 by default; 1 follows the `next` links one page after another.
    /// Lists whose items have no id (status histories) are always read one page after
    /// another.
    ///
    /// Pages come out in order, and an item that shifted from one page to the next
    /// while the list was read (a job created meanwhile pushes every job one place
    /// down) comes out once: the stream remembers the ids of its last `concurrency + 1`
    /// pages, and of more while the list grows (as many pages as the jobs created since
    /// the first page, told by the growth of `count`, can have pushed an item across), so
    /// its memory grows with the jobs created during the read, not with the list. Pages
    /// fetched at once may be answered in any order: one answered before jobs were
    /// created may have missed a job they pushed onto its range from the page before.
    /// That cannot go unseen where new items come first, as in the job lists (newest
    /// first in the service's payloads; its reference does not say): a page answered
    /// after the creations then repeats items of the page before it, however the `count`
    /// moved (jobs deleted meanwhile can hide the creations from it). So once a page
    /// repeats items, the rest of the list is read one page after another, as a
    /// sequential read would, and the pages on their way are dropped (up to
    /// `concurrency - 1` requests spent). While jobs are created during a read, it is
    /// then slower.
    ///
    /// What a read promises about a list that changes under it:
    /// - an item present from the first request to the last is yielded exactly once,
    ///   unless items before it were deleted meanwhile: a deletion pulls later items one
    ///   place up, and one that moves onto a page already read is missed (items created
    ///   meanwhile only push it down). Read several pages at once, this holds where new
    ///   items come first (the job lists); in a list whose new items can land anywhere
    ///   (whose order the service does not document, such as the file library), an item
    ///   created ahead of another can push it onto a page answered earlier unseen: read
    ///   such a list with `concurrency(1)` where an item must not be missed. Both rest on
    ///   the memory above: more items created between two pages' answers than it holds
    ///   (11 pages at the default 10 at once: 11,000 jobs at 1000 a page), while as many
    ///   are deleted so that the `count` does not grow, can still cost an item, yield
    ///   one twice, or make a page look like page 1 repeated (an error);
    /// - a page that links nowhere yet repeats an item of the page before it may have been
    ///   cut short: the service counts the list, then reads the page's items up to that
    ///   count, and an item created in between pushes the last one out. The page after it
    ///   is then read by number too (a 404 there is judged as below), at any concurrency;
    /// - an item created meanwhile may or may not be yielded;
    /// - a list that grew past its last page is followed through its `next` links; one
    ///   that shrank ends where the service says the pages end (a 404 for a page past
    ///   the first, whether read by number or through a `next` link: the first page is
    ///   read again to tell that end from a list that is gone, such as the files of a job
    ///   deleted meanwhile, whose 404 is an error, and from a list that reaches the page
    ///   again, whose page is read once more).
    ///
    /// Every request goes through the client, so the throttle counts each one, and the
    /// guards of the `next` links hold: a link to another origin, or to a page already
    /// fetched, ends the stream with an error. A page that answers the same items as the
    /// first (a service that ignores the page number) is an error too.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// # async fn demo(client: rescale::Client) -> rescale::Result<()> {
    /// let all: Vec<_> = client.jobs().list().concurrency(8).stream().try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn concurrency(mut self, pages: usize) -> Self {
        self.concurrency = pages.max(1);
        self
    }

    /// How many pages [`pages`](ListRequest::pages) and [`stream`](ListRequest::stream)
    /// fetch ahead while the caller works through the current one: 1 by default, 0 to
    /// fetch a page only when the caller asks for it.
    ///
    /// Prefetched pages are ordinary requests: the client's throttle counts them, and
    /// an error from one is yielded in order, after the items before it. Dropping the
    /// stream cancels what is in flight.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// # async fn demo(client: rescale::Client) -> rescale::Result<()> {
    /// // Two pages in flight while each page is written to a slow store.
    /// let mut jobs = client.jobs().list().page_size(100).prefetch(2).stream();
    /// while let Some(job) = jobs.try_next().await? {
    ///     println!("{}", job.id);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn prefetch(mut self, pages: usize) -> Self {
        self.prefetch = pages;
        self
    }

    fn base(&self) -> Result<Url> {
        let mut url = self.target.clone()?;
        if self
            .params
            .iter()
            .any(|(k, v)| k == "page_size" && v == "0")
        {
            return Err(Error::invalid("page_size", "must be at least 1"));
        }
        {
            let mut query = url.query_pairs_mut();
            for (k, v) in &self.params {
                query.append_pair(k, v);
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        Ok(url)
    }

    /// Fetches page `number` (the first page is 1).
    pub async fn page(&self, number: u32) -> Result<Page<T>> {
        if number == 0 {
            return Err(Error::invalid("page", "pages are numbered from 1"));
        }
        let mut url = self.base()?;
        url.query_pairs_mut()
            .append_pair("page", &number.to_string());
        get_page(&self.client, url).await
    }

    /// Every page in turn. Sends nothing until polled; then keeps
    /// [`prefetch`](ListRequest::prefetch) pages in flight ahead of the caller, and
    /// fetches up to [`concurrency`](ListRequest::concurrency) pages at once by number
    /// (items already yielded by an earlier page are taken out of later ones, as
    /// [`concurrency`](ListRequest::concurrency) tells).
    ///
    /// The stream ends with an error, never silently, when a `next` link points to
    /// another origin (the key must not travel there) or repeats a page already fetched.
    /// A `next` link that drops the page size or a filter gets them back. After an error
    /// the stream ends.
    pub fn pages(mut self) -> PageStream<T> {
        let depth = self.prefetch;
        if !self.params.iter().any(|(k, _)| k == "page_size") {
            self.params
                .push(("page_size".into(), LARGEST_PAGE_SIZE.to_string()));
        }
        let walk = PageWalk {
            client: self.client.clone(),
            next: Some(self.base()),
            seen: HashSet::new(),
            required: self.params,
            first: None,
        };
        let pages = match self.id_of {
            Some(id_of) => numbered::pages(walk, id_of, self.concurrency),
            None => walk.into_stream(),
        };
        if depth == 0 {
            pages
        } else {
            fetch_ahead(pages, depth)
        }
    }

    /// Every item across every page, in order. See [`pages`](ListRequest::pages) for
    /// how `next` links are followed and guarded, and how pages are fetched ahead.
    pub fn stream(self) -> ItemStream<T> {
        self.pages()
            .flat_map(|page| match page {
                Ok(page) => Either::Left(stream::iter(page.results.into_iter().map(Ok))),
                Err(e) => Either::Right(stream::iter([Err(e)])),
            })
            .boxed()
    }
}

/// Drives `pages` on a task of its own, at most `depth` pages ahead of the caller, so the
/// next page is on the wire while the caller works through the current one. Lazy: the
/// task starts at the first poll, and stops when the stream is dropped.
fn fetch_ahead<T: Send + 'static>(pages: PageStream<T>, depth: usize) -> PageStream<T> {
    stream::once(async move {
        // Without a Tokio runtime (reqwest needs one anyway) pages are fetched on demand.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return pages;
        };
        let (tx, rx) = tokio::sync::mpsc::channel(depth);
        let fetch = async move {
            let mut pages = pages;
            // A slot is reserved before a fetch, so no more than `depth` pages wait.
            while let Ok(slot) = tx.reserve().await {
                match pages.next().await {
                    Some(page) => slot.send(page),
                    None => break,
                }
            }
        };
        // The requests' log lines stay under the caller's span.
        let task = runtime.spawn(fetch.in_current_span());
        let guard = AbortOnDrop(task);
        stream::unfold(Some((rx, guard)), |state| async move {
            let (mut rx, mut guard) = state?;
            match rx.recv().await {
                Some(page) => Some((page, Some((rx, guard)))),
                // The task is over: said as an error if it panicked, never a silent end.
                None => match (&mut guard.0).await {
                    Err(e) if e.is_panic() => Some((
                        Err(Error::Pagination(format!(
                            "fetching pages ahead failed: {e}"
                        ))),
                        None,
                    )),
                    _ => None,
                },
            }
        })
        .boxed()
    })
    .flatten()
    .boxed()
}

/// Cancels the prefetch task when the stream that reads from it is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Fetches the page at `url`.
async fn get_page<T: DeserializeOwned>(client: &Client, url: Url) -> Result<Page<T>> {
    client.transport.json(ApiRequest::get(url)).await
}

/// What makes two page URLs the same page: the path and the query, whatever the order of
/// its parameters.
fn page_key(url: &Url) -> String {
    let mut pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    pairs.sort();
    format!(
        "{}{}?{pairs:?}",
        url.origin().ascii_serialization(),
        url.path()
    )
}

/// Where a page stream is: the next URL to fetch and every URL fetched so far.
struct PageWalk {
    client: Client,
    next: Option<Result<Url>>,
    seen: HashSet<String>,
    required: Vec<(String, String)>,
    /// The first page's URL and its number of items, once it was read: what a 404 for a
    /// later page is judged by.
    first: Option<(Url, u64)>,
}

impl PageWalk {
    /// Fetches one page after another, following `next`, until there is none or an error.
    fn into_stream<T: DeserializeOwned + Send + 'static>(self) -> PageStream<T> {
        // After an error `walk.next` is empty, so the stream ends.
        stream::unfold(self, |mut walk| async move {
            let url = match walk.next.take()? {
                Ok(url) => url,
                Err(e) => return Some((Err(e), walk)),
            };
            let page = match get_page(&walk.client, url.clone()).await {
                Err(e) if e.is_not_found() => walk.after_not_found(&url, e).await,
                page => page.map(Some),
            };
            match page {
                // The list shrank while it was read, and ends before this page now.
                Ok(None) => None,
                Ok(Some(page)) => {
                    walk.first
                        .get_or_insert_with(|| (url.clone(), page.results.len() as u64));
                    walk.next = page.next.as_deref().map(|next| walk.follow(&url, next));
                    Some((Ok(page), walk))
                }
                Err(e) => Some((Err(e), walk)),
            }
        })
        .boxed()
    }

    /// After `err`, a 404 for the page at `url`: a page past the first, numbered by its
    /// link, is judged by reading the first page again (the list shrank and ends before
    /// it, it reaches the page again, or it is gone: see [`numbered::judge`]);
    /// the first page's 404, or a page the link does not number, is the error.
    #[cold]
    async fn after_not_found<T: DeserializeOwned>(
        &self,
        url: &Url,
        err: Error,
    ) -> Result<Option<Page<T>>> {
        let number = url
            .query_pairs()
            .find(|(k, _)| k == "page")
            .and_then(|(_, v)| v.parse::<u64>().ok());
        match (&self.first, number) {
            (Some((first, per_page)), Some(number)) if number > 1 => {
                let client = &self.client;
                numbered::judge(Err(err), client, first, *per_page, number, url.clone()).await
            }
            _ => Err(err),
        }
    }

    /// Checks a `next` link and puts back what it dropped. The link is the server's
    /// text, so the key is taken out of any error that quotes it.
    fn follow(&mut self, current: &Url, next: &str) -> Result<Url> {
        let checked = self.check_next(current, next);
        checked.map_err(|e| self.client.transport.redact(e))
    }

    fn check_next(&mut self, current: &Url, next: &str) -> Result<Url> {
        let transport = &self.client.transport;
        let mut url = current
            .join(next)
            .map_err(|e| Error::Pagination(format!("the next link `{next}` is not a URL: {e}")))?;
        let base = transport.base_url();
        // A proxy that ends TLS can make the service write `http://` links to its own
        // host: those are followed over the base URL's https, never downgraded.
        if url.scheme() == "http"
            && base.scheme() == "https"
            && url.host() == base.host()
            && url.port().is_none()
        {
            url.set_scheme("https").ok();
            url.set_port(base.port()).ok();
        }
        if !transport.is_same_origin(&url) {
            return Err(Error::Pagination(format!(
                "the next link points to {}, not to {}; not following it, as the API key would be sent there",
                url.origin().ascii_serialization(),
                base.origin().ascii_serialization()
            )));
        }
        // The service's paths all end with a slash; one link in the wild did not.
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        let present: HashSet<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
        let missing: Vec<&(String, String)> = self
            .required
            .iter()
            .filter(|(k, _)| !present.contains(k))
            .collect();
        if !missing.is_empty() {
            let mut query = url.query_pairs_mut();
            for (k, v) in missing {
                query.append_pair(k, v);
            }
        }
        self.seen.insert(page_key(current));
        if self.seen.contains(&page_key(&url)) {
            return Err(Error::Pagination(format!(
                "the next link repeats a page already fetched ({}); stopping instead of looping",
                url.path()
            )));
        }
        Ok(url)
    }
}
