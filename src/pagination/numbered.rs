//! Reading a list by page number, several pages at once, once its first page has told the
//! count; and yielding each item once, by id, when items created meanwhile shifted it from
//! one page to the next.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use futures::stream::{self, BoxStream, StreamExt};
use serde::de::DeserializeOwned;
use url::Url;

use super::{Page, PageStream, PageWalk, get_page, page_key};
use crate::error::{Error, Result};

/// The id of a list item.
pub(super) type IdOf<T> = fn(&T) -> &str;

/// The pages of `walk`'s list: the first one, then, when it tells the count and there is
/// more, the others by number, `concurrency` at a time, in order; then, if the last one
/// still links further (the list grew), its `next` links one after another. Items already
/// yielded are taken out of later pages.
pub(super) fn pages<T: DeserializeOwned + Send + 'static>(
    mut walk: PageWalk,
    id_of: IdOf<T>,
    concurrency: usize,
) -> PageStream<T> {
    stream::once(async move {
        let url = match walk.next.take() {
            None => return stream::empty().boxed(),
            Some(Err(e)) => return stream::iter([Err(e)]).boxed(),
            Some(Ok(url)) => url,
        };
        let first: Page<T> = match get_page(&walk.client, url.clone()).await {
            Ok(page) => page,
            Err(e) => return stream::iter([Err(e)]).boxed(),
        };
        walk.first = Some((url.clone(), first.results.len() as u64));
        // The first page's `next` is checked like any other: origin, repeat.
        walk.next = first.next.as_deref().map(|next| walk.follow(&url, next));
        let mut once = Once::new(id_of, concurrency.saturating_add(1));
        let first_ids: Vec<String> = first.results.iter().map(|i| id_of(i).to_owned()).collect();
        // Pages are numbered only where the first `next` says so (`page=2`); any other
        // scheme is followed link by link.
        let numbered = |next: &Url| next.query_pairs().any(|(k, v)| k == "page" && v == "2");
        let last = match (&walk.next, first.count, first.results.len() as u64) {
            (Some(Ok(next)), Some(count), per) if concurrency > 1 && per > 0 && numbered(next) => {
                count.div_ceil(per)
            }
            _ => 0,
        };
        let first = once.fresh(first);
        if last < 2 {
            return stream::iter([Ok(first)])
                .chain(one_after_another(walk, once, url, 1, false))
                .boxed();
        }
        let client = walk.client.clone();
        let first_url = url.clone();
        let fetches = stream::iter(2..=last)
            .map(move |number| {
                let numbered = page_url(&url, number);
                let client = client.clone();
                async move {
                    let page = get_page(&client, numbered.clone()).await;
                    (number, numbered, page)
                }
            })
            .buffered(concurrency)
            .boxed();
        let rest = Numbered {
            fetches,
            first_url,
            next_number: 2,
            one_by_one: false,
            last,
            walk: Some(walk),
            tail: None,
            once,
            first_ids,
            done: false,
        };
        let rest = stream::unfold(rest, |mut rest| async move {
            let page = rest.next().await?;
            Some((page, rest))
        });
        stream::iter([Ok(first)]).chain(rest).boxed()
    })
    .flatten()
    .boxed()
}

/// The ids of some items, in order.
fn ids<T>(items: &[T], id_of: IdOf<T>) -> Vec<&str> {
    items.iter().map(id_of).collect()
}

/// The ids of the last pages yielded, to take out of a page an item that shifted onto it
/// from an earlier page while the list was read (a job created meanwhile pushes every job
/// one place down). It remembers at least `window` pages, and more while the list grows:
/// as many as the items created since the first page (the growth of its `count`) can have
/// pushed an item across, plus two. So its memory grows with the items created during
/// the read, not with the list.
struct Once<T> {
    seen: HashSet<Arc<str>>,
    pages: VecDeque<Vec<Arc<str>>>,
    window: usize,
    /// The first page's `count` and length, and how much the count has grown since.
    first_count: Option<u64>,
    per_page: u64,
    growth: u64,
    /// How many items the last page given to [`Once::fresh`] repeated.
    repeated: usize,
    id_of: IdOf<T>,
}

impl<T> Once<T> {
    fn new(id_of: IdOf<T>, window: usize) -> Self {
        Once {
            seen: HashSet::new(),
            pages: VecDeque::new(),
            window: window.max(2),
            first_count: None,
            per_page: 0,
            growth: 0,
            repeated: 0,
            id_of,
        }
    }

    /// How many pages to remember: enough for an item pushed down by every item created
    /// so far.
    fn keep(&self) -> usize {
        let shifted = self.growth.div_ceil(self.per_page.max(1)).saturating_add(2);
        self.window
            .max(usize::try_from(shifted).unwrap_or(usize::MAX))
    }

    /// The page without the items already yielded from the pages remembered.
    fn fresh(&mut self, mut page: Page<T>) -> Page<T> {
        if self.pages.is_empty() {
            self.first_count = page.count;
            self.per_page = page.results.len() as u64;
        } else if let (Some(first), Some(now)) = (self.first_count, page.count) {
            self.growth = self.growth.max(now.saturating_sub(first));
        }
        // Forgotten only now, with the growth this page tells: the pages that the creations
        // it reveals can have pushed an item from are still remembered.
        while self.pages.len() > self.keep() {
            let Some(oldest) = self.pages.pop_front() else {
                break;
            };
            for id in oldest {
                self.seen.remove(&id);
            }
        }
        let id_of = self.id_of;
        let before = page.results.len();
        let mut ids = Vec::with_capacity(page.results.len());
        page.results.retain(|item| {
            let id = id_of(item);
            if self.seen.contains(id) {
                return false;
            }
            let id: Arc<str> = Arc::from(id);
            self.seen.insert(id.clone());
            ids.push(id);
            true
        });
        self.repeated = before - page.results.len();
        self.pages.push_back(ids);
        page
    }
}

/// Pages 2 to `last` on their way, then the `next` links past `last`.
struct Numbered<T> {
    /// Reads a page again (see [`Numbered::next`]).
    fetches: BoxStream<'static, (u64, Url, Result<Page<T>>)>,
    /// The first page's URL, read again to tell a list that shrank from one that is gone.
    first_url: Url,
    /// The number of the page to yield next.
    next_number: u64,
    /// Items were created while the pages were read: the rest are read one after another.
    one_by_one: bool,
    last: u64,
    /// The `next` links' guards, and the walk past `last` when the list grew.
    walk: Option<PageWalk>,
    tail: Option<PageStream<T>>,
    once: Once<T>,
    first_ids: Vec<String>,
    done: bool,
}

impl<T: DeserializeOwned + Send + 'static> Numbered<T> {
    async fn next(&mut self) -> Option<Result<Page<T>>> {
        if self.done {
            return None;
        }
        if let Some(tail) = &mut self.tail {
            return tail.next().await;
        }
        let (number, url, page) = if self.one_by_one {
            let number = self.next_number;
            if number > self.last {
                return None;
            }
            let url = page_url(&self.first_url, number);
            let page = get_page(&self.walk.as_ref()?.client, url.clone()).await;
            (number, url, page)
        } else {
            self.fetches.next().await?
        };
        self.next_number = number + 1;
        let (client, per_page) = (&self.walk.as_ref()?.client, self.once.per_page);
        let page = judge(page, client, &self.first_url, per_page, number, url.clone()).await;
        let page = match page {
            Ok(Some(page)) => page,
            Ok(None) => {
                self.done = true;
                return None;
            }
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        // The same items under the same count, and no link back: the page number was
        // ignored. (Under a new count they may have been pushed down a page by as many
        // items created; a page that links to a previous one is not page 1.)
        if !page.results.is_empty()
            && page.previous.is_none()
            && page.count == self.once.first_count
            && ids(&page.results, self.once.id_of) == self.first_ids
        {
            self.done = true;
            return Some(Err(Error::Pagination(format!(
                "page {number} holds the same items as page 1; the service seems to ignore the page number (read the list with `.concurrency(1)`)"
            ))));
        }
        let walk = self.walk.as_mut()?;
        walk.seen.insert(page_key(&url));
        let next = page.next.clone();
        let page = self.once.fresh(page);
        // The rest is read one page after another when the list grew past its last page
        // (through the links), or when a page that links nowhere repeats items: items
        // created meanwhile may have pushed some past it, under a count taken before (by
        // number, see `one_after_another`).
        let past_links = match next.as_deref() {
            None if self.once.repeated > 0 => Some(None),
            // The list ends here now (it shrank while it was read).
            None => {
                self.done = true;
                None
            }
            Some(next) if number == self.last => Some(Some(next)),
            Some(_) => None,
        };
        if let Some(link) = past_links {
            let mut walk = self.walk.take()?;
            walk.next = link.map(|next| walk.follow(&url, next));
            // The tail yields the pages from now on, each page's items once.
            let spent = Once::new(self.once.id_of, 0);
            let once = std::mem::replace(&mut self.once, spent);
            let (first_url, by_number) = (self.first_url.clone(), link.is_none());
            self.tail = Some(one_after_another(walk, once, first_url, number, by_number));
        }
        // Items this page repeats from the pages before it were pushed down by items
        // created since those were read. Pages answered before the creations, whatever
        // their `count`, may then have missed an item pushed from the page before them onto
        // their range: the rest of the list is read one page after another, from now on
        // (the pages on their way are dropped), as a sequential read would. Without such a
        // repeat, no item present all along (and with nothing deleted before it) can have
        // been missed: an item pushed across a boundary between two pages read at different
        // moments shows as a repeat on a boundary before it, as the first page was read
        // before any other.
        if self.once.repeated > 0 && !self.one_by_one {
            self.one_by_one = true;
            self.fetches = stream::empty().boxed();
        }
        Some(Ok(page))
    }
}

/// The pages after page `number` of a list read one after another, each page's items
/// yielded once: through its `next` links, or by number (`first_url` with `page`) when
/// `by_number`. The service counts a page's list, then reads its items up to that count:
/// an item created in between pushes the last one out of a page that links nowhere. Such a
/// page repeats an item of the page before it (pushed down too), so after it the pages
/// are read by number, on while they bring new items and repeat some or link further; a
/// 404 for one is judged as any page's ([`judge`]). A page of nothing new read by number
/// ends the list, so a service that answers any number past the end with the last page is
/// not read for ever.
fn one_after_another<T: DeserializeOwned + Send + 'static>(
    walk: PageWalk,
    once: Once<T>,
    first_url: Url,
    number: u64,
    by_number: bool,
) -> PageStream<T> {
    let read = OneAfterAnother {
        client: walk.client.clone(),
        links: walk.into_stream(),
        once,
        first_url,
        number,
        by_number,
    };
    stream::unfold(Some(read), |read| async move {
        let mut read = read?;
        let (page, go_on) = read.next().await?;
        Some((page, go_on.then_some(read)))
    })
    .boxed()
}

/// Where [`one_after_another`] is.
struct OneAfterAnother<T> {
    client: crate::Client,
    links: PageStream<T>,
    once: Once<T>,
    first_url: Url,
    /// The number of the last page read.
    number: u64,
    /// Reading by number rather than through the links.
    by_number: bool,
}

impl<T: DeserializeOwned + Send + 'static> OneAfterAnother<T> {
    /// The next page, and whether the read goes on after it.
    async fn next(&mut self) -> Option<(Result<Page<T>>, bool)> {
        self.number += 1;
        let page = if self.by_number {
            let url = page_url(&self.first_url, self.number);
            let page = get_page(&self.client, url.clone()).await;
            let per_page = self.once.per_page;
            judge(
                page,
                &self.client,
                &self.first_url,
                per_page,
                self.number,
                url,
            )
            .await
        } else {
            self.links.next().await?.map(Some)
        };
        let page = match page {
            Ok(Some(page)) => self.once.fresh(page),
            Ok(None) => return None,
            Err(e) => return Some((Err(e), false)),
        };
        let repeated = self.once.repeated > 0;
        let cut = page.next.is_none() && repeated;
        let go_on = match self.by_number {
            false => page.next.is_some() || cut,
            true => !page.results.is_empty() && (page.next.is_some() || repeated),
        };
        self.by_number |= cut;
        Some((Ok(page), go_on))
    }
}

/// The answer for page `number` (at `url`) of the list whose first page is `first_url`
/// (`per_page` items a page), a 404 judged by reading the first page again: `None` when it
/// says the list now ends before the page (it shrank while it was read); the page read
/// once more when the list reaches it again (it shrank and grew back); the first page's
/// error when the list itself is gone (a job's files once the job is deleted).
pub(super) async fn judge<T: DeserializeOwned>(
    page: Result<Page<T>>,
    client: &crate::Client,
    first_url: &Url,
    per_page: u64,
    number: u64,
    url: Url,
) -> Result<Option<Page<T>>> {
    match page {
        Err(e) if e.is_not_found() => {}
        page => return page.map(Some),
    }
    let first: Page<T> = get_page(client, first_url.clone()).await?;
    let shrank = first
        .count
        .is_some_and(|count| count.div_ceil(per_page.max(1)) < number);
    if shrank {
        return Ok(None);
    }
    get_page(client, url).await.map(Some)
}

/// The URL of page `number` of the list whose first page is `first`.
fn page_url(first: &Url, number: u64) -> Url {
    let mut url = first.clone();
    url.query_pairs_mut()
        .append_pair("page", &number.to_string());
    url
}
