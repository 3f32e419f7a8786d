//! The account: the user ([`Account::me`], `GET users/me/`) and the projects a job may be
//! billed to ([`Account::projects`], `GET users/me/projects/`).
//!
//! Neither endpoint is in Rescale's published reference: they are seen in Rescale's own
//! tools and notebooks, so the models are lenient (every field optional, unknown fields
//! kept in `extra`).
//!
//! ```no_run
//! use futures::TryStreamExt;
//! # async fn demo(client: rescale::Client) -> rescale::Result<()> {
//! let account = client.account();
//! let me = account.me().await?;
//! println!("{:?} may ask for {:?} hours per job", me.email, me.max_job_hours);
//! let projects: Vec<_> = account.projects().page_size(100).stream().try_collect().await?;
//! # Ok(()) }
//! ```

use std::sync::Arc;

use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use serde_with::skip_serializing_none;

use crate::client::Client;
use crate::error::Result;
use crate::pagination::ListRequest;
use crate::serde_util::{lenient_f64, lenient_text};
use crate::transport::ApiRequest;

/// The account endpoints. Cheap to create and clone; owns a clone of the [`Client`].
#[derive(Debug, Clone)]
pub struct Account {
    client: Client,
}

impl Client {
    /// The account endpoints: the user and the projects.
    pub fn account(&self) -> Account {
        Account {
            client: self.clone(),
        }
    }
}

/// Page size used when every project is read.
const SCAN_PAGE_SIZE: u32 = 1000;

impl Account {
    /// The user the key belongs to (`GET users/me/`); always read afresh. A bad key
    /// answers 401.
    pub async fn me(&self) -> Result<User> {
        let url = self.client.transport.endpoint(&["users", "me"]);
        self.client.transport.json(ApiRequest::get(url)).await
    }

    /// The projects a job may be billed to (`GET users/me/projects/`): the valid values of
    /// a job's `projectId`.
    pub fn projects(&self) -> ListRequest<Project> {
        ListRequest::new(
            self.client.clone(),
            Ok(self.client.transport.endpoint(&["users", "me", "projects"])),
        )
    }

    /// The user, read once for the client's lifetime (and shared by its clones); see
    /// [`refresh`](Account::refresh).
    pub async fn me_cached(&self) -> Result<Arc<User>> {
        self.client.cache.me.get_or_read(|| self.me()).await
    }

    /// Every project, read once for the client's lifetime (and shared by its clones).
    pub async fn projects_cached(&self) -> Result<Arc<Vec<Project>>> {
        self.client
            .cache
            .projects
            .get_or_read(|| {
                self.projects()
                    .page_size(SCAN_PAGE_SIZE)
                    .stream()
                    .try_collect()
            })
            .await
    }

    /// Forgets the cached user and projects: the next cached read asks the service.
    pub async fn refresh(&self) {
        self.client.cache.clear_account().await;
    }
}

/// The user a key belongs to. Lenient: the shape is seen in Rescale's own code only.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct User {
    /// User id.
    #[serde(default, deserialize_with = "lenient_text")]
    pub id: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// The most walltime, in hours, a job may ask for (`maxJobHours`).
    #[serde(default, deserialize_with = "lenient_f64")]
    pub max_job_hours: Option<f64>,
    /// Fields this version of the crate does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A project a job may be billed to. Lenient: the shape is seen in Rescale's own code only.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Project {
    /// Project id: the value of a job's `projectId` (a number is read as text).
    #[serde(default, deserialize_with = "lenient_text")]
    pub id: Option<String>,
    /// Project name.
    pub name: Option<String>,
    /// Fields this version of the crate does not know, kept as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
