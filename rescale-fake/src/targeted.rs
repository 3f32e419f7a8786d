//! Faults aimed at one endpoint, answers lost after the request was carried out, and the
//! arrival time of every request: what tests of exactly-once submission and of shared
//! rate limits need.

use std::time::{Duration, Instant};

use crate::state::lock;
use crate::{FakeRescale, Fault};

/// What becomes of a request hit by a fault aimed at its endpoint.
#[derive(Clone, Debug)]
pub enum Aim {
    /// The fault is answered instead: the request is not carried out.
    Instead(Fault),
    /// The request is carried out (a job created, a job submitted), then its answer is
    /// replaced by the fault: the client cannot know that it succeeded.
    AnswerLost(Fault),
    /// The request is carried out, then no answer ever comes (until the client gives up
    /// or is killed).
    Hang,
}

/// Aimed faults and arrival times, kept in the fake's state.
#[derive(Debug)]
pub struct Targeted {
    started: Instant,
    aims: Vec<(String, Aim, usize)>,
    /// The arrival time of each recorded request, by index.
    pub arrivals: Vec<Instant>,
}

impl Default for Targeted {
    fn default() -> Self {
        Targeted {
            started: Instant::now(),
            aims: Vec::new(),
            arrivals: Vec::new(),
        }
    }
}

impl Targeted {
    /// Takes one use of the oldest fault aimed at `endpoint`, if any.
    pub fn take(&mut self, endpoint: &str) -> Option<Aim> {
        let i = self
            .aims
            .iter()
            .position(|(e, _, left)| e == endpoint && *left > 0)?;
        let (_, aim, left) = &mut self.aims[i];
        *left -= 1;
        let aim = aim.clone();
        if self.aims[i].2 == 0 {
            self.aims.remove(i);
        }
        Some(aim)
    }
}

/// One request with the time it arrived, as returned by [`FakeRescale::request_times`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimedRequest {
    /// The endpoint key, e.g. `"POST jobs/{id}/submit/"`.
    pub endpoint: String,
    /// The status answered (`0` when no answer was sent).
    pub status: u16,
    /// When it arrived, from the start of the fake.
    pub at: Duration,
}

impl FakeRescale {
    /// Makes the next `times` requests to `endpoint` (a key as in
    /// [`request_count`](FakeRescale::request_count), e.g. `"POST jobs/"`) meet `aim`;
    /// other endpoints are not affected. Aims queue up behind earlier ones.
    ///
    /// ```no_run
    /// # async fn demo() {
    /// use rescale_fake::{Aim, FakeRescale, Fault};
    ///
    /// let fake = FakeRescale::start().await;
    /// // The next create makes the job, but the client gets a 504.
    /// fake.aim_fault("POST jobs/", Aim::AnswerLost(Fault::GatewayTimeout), 1);
    /// # }
    /// ```
    pub fn aim_fault(&self, endpoint: &str, aim: Aim, times: usize) {
        lock(&self.shared)
            .targeted
            .aims
            .push((endpoint.to_owned(), aim, times));
    }

    /// Every request received so far with its arrival time, in arrival order.
    pub fn request_times(&self) -> Vec<TimedRequest> {
        let s = lock(&self.shared);
        s.requests
            .iter()
            .zip(&s.targeted.arrivals)
            .map(|(r, at)| TimedRequest {
                endpoint: r.endpoint.clone(),
                status: r.status,
                at: at.duration_since(s.targeted.started),
            })
            .collect()
    }
}
