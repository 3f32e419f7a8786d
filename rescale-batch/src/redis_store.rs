//! [`RedisStore`]: the throttle's budgets in Redis, shared by processes on many machines.

use std::time::Duration;

use futures::future::{BoxFuture, FutureExt};
use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use rescale::{Admission, RateLimit, StoreError, ThrottleScope, ThrottleStore};

/// One admission, atomically: the pause, then the GCRA step, on the Redis server's clock
/// (`TIME`), so machines whose clocks differ still share one budget. Times in microseconds.
/// Returns `{0, 0}` (granted), `{1, wait}` or `{2, remaining pause}`.
const ADMIT: &str = r"
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then return {2, paused - now} end
local interval = tonumber(ARGV[1])
if interval <= 0 then return {0, 0} end
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if now < tat - tolerance then return {1, tat - tolerance - now} end
local next = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', next), 'PX', math.ceil((next - now) / 1000) + 1000)
return {0, 0}
";

/// Pauses a scope until now + ARGV[1] microseconds, unless it is paused for longer.
const PAUSE: &str = r"
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local untilv = now + tonumber(ARGV[1])
local paused = tonumber(redis.call('GET', KEYS[1]) or '0')
if untilv > paused then
  redis.call('SET', KEYS[1], string.format('%.0f', untilv), 'PX', math.ceil(tonumber(ARGV[1]) / 1000) + 1000)
end
return 0
";

/// How long connecting to Redis may take.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one answer from Redis may take.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`ThrottleStore`] in Redis: every process, on any machine, that uses the same server
/// and [`prefix`](RedisStore::prefix) spends one budget per scope, and a 429 seen by one
/// pauses the scope for all.
///
/// Each admission is one Lua script (atomic on the server) running the GCRA of
/// [`RateLimit::gcra`] on the server's clock. Keys: `{prefix}:{scope}:tat` and
/// `{prefix}:{scope}:paused`, each expiring once it no longer matters.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use rescale_batch::RedisStore;
///
/// let store = RedisStore::connect("redis://10.0.0.5/").await?.prefix("rescale:acme");
/// let client = rescale::Client::builder()
///     .token("key")
///     .throttle_store(Arc::new(store))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    admit: Script,
    pause: Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to the server at `url` (e.g. `redis://127.0.0.1:6379/`); the connection is
    /// re-established when it drops.
    ///
    /// Connecting may take up to 10 s, and each answer up to 5 s (redis-rs's own defaults,
    /// 1 s and 500 ms, fail a batch whenever the machine or the network stalls for a
    /// moment). An answer that does not come in time is a [`StoreError`] to the throttle,
    /// which asks again after a growing wait: the budget is never spent unchecked.
    pub async fn connect(url: &str) -> redis::RedisResult<RedisStore> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECTION_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        let conn = ConnectionManager::new_with_config(client, config).await?;
        Ok(RedisStore {
            conn,
            prefix: "rescale".to_owned(),
            admit: Script::new(ADMIT),
            pause: Script::new(PAUSE),
        })
    }

    /// The prefix of this store's keys (default `rescale`): one per Rescale account.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn key(&self, scope: ThrottleScope, what: &str) -> String {
        format!("{}:{}:{what}", self.prefix, scope.key())
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl ThrottleStore for RedisStore {
    fn admit(
        &self,
        scope: ThrottleScope,
        limit: Option<RateLimit>,
    ) -> BoxFuture<'_, Result<Admission, StoreError>> {
        // Rounded up, so that the server's microseconds never allow more than the limit.
        let (interval, tolerance) = match limit {
            Some(l) => {
                let interval = micros(l.interval()) + 1;
                (interval, interval * u64::from(l.burst() - 1))
            }
            None => (0, 0),
        };
        let mut conn = self.conn.clone();
        let mut call = self.admit.key(self.key(scope, "tat"));
        call.key(self.key(scope, "paused"))
            .arg(interval)
            .arg(tolerance);
        async move {
            let (code, micros): (u8, u64) = call.invoke_async(&mut conn).await?;
            let d = Duration::from_micros(micros);
            Ok(match code {
                0 => Admission::Granted,
                1 => Admission::Wait(d),
                _ => Admission::Paused(d),
            })
        }
        .boxed()
    }

    fn pause(&self, scope: ThrottleScope, wait: Duration) -> BoxFuture<'_, Result<(), StoreError>> {
        let mut conn = self.conn.clone();
        let mut call = self.pause.key(self.key(scope, "paused"));
        call.arg(micros(wait).max(1));
        async move {
            let _: i64 = call.invoke_async(&mut conn).await?;
            Ok(())
        }
        .boxed()
    }
}
