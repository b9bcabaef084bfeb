//! Pools of instances per (function, qualifier), concurrency accounting and throttling.
//!
//! Lambda's scaling model, which this follows:
//! - **Concurrency is in-flight invocations**, not processes. A function's reserved concurrency
//!   caps its in-flight invocations across all its versions (`Some(0)` throttles everything);
//!   `max_concurrency` caps them across all functions. Over either cap an invocation is throttled
//!   at once (`TooManyRequestsException` with the matching `Reason`); it never queues.
//! - **Warm reuse**: an invocation takes the most recently used idle instance of its pool (so the
//!   least used ones age out), otherwise it starts one (a cold start).
//! - **Waiting beats a cold start when it is shorter**: an invocation that finds no idle instance
//!   while other invocations of the function are in flight waits, in line, for one of their
//!   instances to come back. Only once it has waited the pool's typical init duration (an
//!   estimate from its cold starts; [`DEFAULT_INIT_ESTIMATE`] before the first) does it start
//!   an instance, and only if no other start of the pool is in flight
//!   ([`MAX_STARTS_IN_FLIGHT`]); otherwise it keeps its place in line and looks again when that
//!   start ends. Quick functions under a burst of concurrent calls are thus served by the
//!   instances they have instead of starting one process per connection (whose inits, all at
//!   once, would drown the machine); slow functions still scale out to one instance per
//!   concurrent invocation, one init at a time.
//! - **Scale to zero**: instances idle for `idle_timeout` are stopped by a periodic sweep.
//! - **Bounded processes**: live instances (busy, idle or starting) never exceed
//!   `max_concurrency`; starting one more evicts the least recently used idle instance of any
//!   function. Since in-flight invocations are capped by the same number, an idle instance to
//!   evict always exists.
//! - **Reconfiguration** bumps the pool's generation: idle instances of the old configuration stop
//!   at once, busy ones when their invocation ends.
//!
//! One `std::sync::Mutex` guards all of it. It is held for bookkeeping only, never across an
//! `.await`, and instances (whose drop runs `kill`) are always dropped after it is released.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::futures::OwnedNotified;
use tokio::sync::{Notify, oneshot};

use crate::instance::Instance;
use crate::util::kill_process_group;
use crate::{FunctionConfig, InvokeError};
use tollgate_telemetry::FunctionMetrics;

static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);

fn next_generation() -> u64 {
    NEXT_GENERATION.fetch_add(1, Ordering::Relaxed)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Throttle reasons, as Lambda's `TooManyRequestsException.Reason`.
pub(crate) const RESERVED_LIMIT: &str = "ReservedFunctionConcurrentInvocationLimitExceeded";
pub(crate) const ACCOUNT_LIMIT: &str = "ConcurrentInvocationLimitExceeded";

/// The init duration assumed for a pool that has not started an instance yet.
pub(crate) const DEFAULT_INIT_ESTIMATE: Duration = Duration::from_millis(100);

/// Instance starts of one pool in flight at once. Small, so a burst of connections cannot start
/// a process each (their inits, all at once, would starve the machine); above one, so slow
/// functions under concurrent calls scale out by more than one init at a time.
pub(crate) const MAX_STARTS_IN_FLIGHT: u32 = 2;

/// Bounds on how long an invocation waits for a busy instance before starting one.
const MIN_WAIT: Duration = Duration::from_millis(1);
const MAX_WAIT: Duration = Duration::from_secs(1);

/// Every live instance's process group, so shutdown can kill busy instances too.
pub(crate) struct LiveSet {
    slots: Mutex<HashMap<u64, u32>>,
    next_id: AtomicU64,
    closed: AtomicBool,
}

impl LiveSet {
    fn new() -> Self {
        Self {
            slots: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            closed: AtomicBool::new(false),
        }
    }

    fn reserve(self: &Arc<Self>) -> LiveSlot {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        lock(&self.slots).insert(id, 0);
        LiveSlot {
            set: self.clone(),
            id,
        }
    }

    pub(crate) fn len(&self) -> usize {
        lock(&self.slots).len()
    }

    /// Refuses new instances and kills every live process group.
    fn close_and_kill(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let groups: Vec<u32> = lock(&self.slots).values().copied().collect();
        for pgid in groups {
            kill_process_group(pgid);
        }
    }
}

/// A place in the [`LiveSet`], held by an instance for its whole life (released on drop).
pub(crate) struct LiveSlot {
    set: Arc<LiveSet>,
    id: u64,
}

impl LiveSlot {
    /// Records the process group; `false` if shutdown began meanwhile.
    pub(crate) fn set_pgid(&self, pgid: u32) -> bool {
        lock(&self.set.slots).insert(self.id, pgid);
        !self.set.closed.load(Ordering::SeqCst)
    }
}

impl Drop for LiveSlot {
    fn drop(&mut self) {
        lock(&self.set.slots).remove(&self.id);
    }
}

struct Pool {
    /// Tells this pool from a later one with the same key (for [`StartPermit`]).
    id: u64,
    config: Arc<FunctionConfig>,
    generation: u64,
    /// Instances of this pool starting (spawned, not yet initialised).
    starting: u32,
    /// Wakes the invocations waiting for a start to end.
    start_ended: Arc<Notify>,
    /// Idle instances, most recently used last.
    idle: Vec<Instance>,
    /// Invocations waiting for an instance to be given back, oldest first.
    waiters: VecDeque<oneshot::Sender<Instance>>,
    /// Typical init duration (a moving average of the pool's cold starts).
    init_estimate: Option<Duration>,
    /// The function's metric handles, resolved on the pool's first invocation.
    metrics: Option<Arc<FunctionMetrics>>,
}

impl Pool {
    fn new(config: FunctionConfig) -> Self {
        Self {
            id: next_generation(),
            config: Arc::new(config),
            generation: next_generation(),
            starting: 0,
            start_ended: Arc::new(Notify::new()),
            idle: Vec::new(),
            waiters: VecDeque::new(),
            init_estimate: None,
            metrics: None,
        }
    }

    /// How long an invocation waits for a busy instance before it starts one.
    fn patience(&self) -> Duration {
        self.init_estimate
            .unwrap_or(DEFAULT_INIT_ESTIMATE)
            .clamp(MIN_WAIT, MAX_WAIT)
    }

    /// Counts one more start of this pool.
    fn start(&mut self, registry: &Arc<Registry>, key: (String, String)) -> StartPermit {
        self.starting += 1;
        StartPermit {
            registry: registry.clone(),
            key,
            pool_id: self.id,
        }
    }
}

/// Counts an instance start against its pool's [`MAX_STARTS_IN_FLIGHT`] until dropped, which the
/// instance does once its init has ended (or it failed to spawn).
pub(crate) struct StartPermit {
    registry: Arc<Registry>,
    key: (String, String),
    pool_id: u64,
}

impl Drop for StartPermit {
    fn drop(&mut self) {
        let mut inner = lock(&self.registry.inner);
        if let Some(pool) = inner.pools.get_mut(&self.key)
            && pool.id == self.pool_id
        {
            pool.starting = pool.starting.saturating_sub(1);
            pool.start_ended.notify_waiters();
        }
    }
}

/// What a cold start holds: a place among the live instances and, while it initialises, a
/// start of its pool.
pub(crate) struct ColdStart {
    pub slot: LiveSlot,
    pub permit: StartPermit,
}

#[derive(Default)]
struct Inner {
    pools: HashMap<(String, String), Pool>,
    /// In-flight invocations per function name (all qualifiers).
    in_flight: HashMap<String, u32>,
    in_flight_total: usize,
    shutting_down: bool,
}

/// The pools and counters. See the module documentation.
pub(crate) struct Registry {
    inner: Mutex<Inner>,
    live: Arc<LiveSet>,
    max_concurrency: usize,
    region: String,
    account_id: String,
}

/// What an admitted invocation runs with.
/// An admitted invocation's lease, and the instances to drop once the lock is released.
pub(crate) type Admitted = (Lease, Vec<Instance>);

pub(crate) struct Lease {
    pub config: Arc<FunctionConfig>,
    pub generation: u64,
    pub start: Start,
    pub in_flight: InFlight,
}

/// Where an admitted invocation's instance comes from.
// Moved once per invocation, never stored: boxing the instance would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Start {
    /// An idle instance.
    Warm(Instance),
    /// A cold start.
    Cold(ColdStart),
    /// An instance that other invocations are using, when one comes back. After each wait of
    /// this patience without one, [`Registry::start_after_wait`] may grant a cold start.
    Wait(oneshot::Receiver<Instance>, Duration),
}

/// What [`Registry::start_after_wait`] decided.
pub(crate) enum AfterWait {
    /// Start an instance; drop the instances (evicted to make room) first.
    Start(ColdStart, Vec<Instance>),
    /// Another start of the pool is in flight: this completes when a start ends.
    StartInFlight(OwnedNotified),
}

/// Counts an invocation as in flight until dropped.
pub(crate) struct InFlight {
    registry: Arc<Registry>,
    name: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut inner = lock(&self.registry.inner);
        inner.in_flight_total = inner.in_flight_total.saturating_sub(1);
        if let Some(n) = inner.in_flight.get_mut(&self.name) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                inner.in_flight.remove(&self.name);
            }
        }
    }
}

impl Registry {
    pub(crate) fn new(max_concurrency: usize, region: String, account_id: String) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            live: Arc::new(LiveSet::new()),
            max_concurrency: max_concurrency.max(1),
            region,
            account_id,
        }
    }

    /// Adds or reconfigures a pool. Returns instances to drop (outside the lock).
    pub(crate) fn upsert(&self, config: FunctionConfig) -> Vec<Instance> {
        let mut inner = lock(&self.inner);
        if inner.shutting_down {
            return Vec::new();
        }
        let key = (config.name.clone(), config.qualifier.clone());
        match inner.pools.get_mut(&key) {
            Some(pool) if *pool.config == config => Vec::new(),
            Some(pool) => {
                pool.config = Arc::new(config);
                pool.generation = next_generation();
                std::mem::take(&mut pool.idle)
            }
            None => {
                inner.pools.insert(key, Pool::new(config));
                Vec::new()
            }
        }
    }

    /// Makes the pool start fresh instances (a new generation) without changing its
    /// configuration. Returns the idle instances to drop.
    pub(crate) fn reload(&self, name: &str, qualifier: &str) -> Vec<Instance> {
        let mut inner = lock(&self.inner);
        match inner
            .pools
            .get_mut(&(name.to_owned(), qualifier.to_owned()))
        {
            Some(pool) => {
                pool.generation = next_generation();
                std::mem::take(&mut pool.idle)
            }
            None => Vec::new(),
        }
    }

    /// Removes a pool. Returns its idle instances to drop; busy ones stop when they finish.
    pub(crate) fn remove(&self, name: &str, qualifier: &str) -> Vec<Instance> {
        let mut inner = lock(&self.inner);
        inner
            .pools
            .remove(&(name.to_owned(), qualifier.to_owned()))
            .map(|pool| pool.idle)
            .unwrap_or_default()
    }

    /// Admits an invocation or throttles it. The returned instances are to be dropped by the
    /// caller (dead idle instances, evictions), after the lock is gone. With `telemetry`, also
    /// returns the function's metric handles (resolved once per pool, then an `Arc` clone) for
    /// every invocation of an existing function, admitted or throttled.
    pub(crate) fn acquire(
        self: &Arc<Self>,
        name: &str,
        qualifier: &str,
        telemetry: Option<&tollgate_telemetry::Registry>,
    ) -> (Option<Arc<FunctionMetrics>>, Result<Admitted, InvokeError>) {
        let mut metrics = None;
        let admitted = self.admit(name, qualifier, telemetry, &mut metrics);
        (metrics, admitted)
    }

    fn admit(
        self: &Arc<Self>,
        name: &str,
        qualifier: &str,
        telemetry: Option<&tollgate_telemetry::Registry>,
        metrics: &mut Option<Arc<FunctionMetrics>>,
    ) -> Result<Admitted, InvokeError> {
        let mut discard = Vec::new();
        let mut inner = lock(&self.inner);
        if inner.shutting_down {
            return Err(InvokeError::Failed(
                "function runtime is shutting down".to_owned(),
            ));
        }
        let Some(pool) = inner
            .pools
            .get_mut(&(name.to_owned(), qualifier.to_owned()))
        else {
            return Err(InvokeError::NotFound(format!(
                "Function not found: arn:aws:lambda:{}:{}:function:{name}:{qualifier}",
                self.region, self.account_id
            )));
        };
        if let Some(telemetry) = telemetry {
            let handles = pool
                .metrics
                .get_or_insert_with(|| Arc::new(FunctionMetrics::resolve(telemetry, name)));
            *metrics = Some(Arc::clone(handles));
        }
        let config = pool.config.clone();
        let generation = pool.generation;
        let running = inner.in_flight.get(name).copied().unwrap_or(0);
        if let Some(reserved) = config.reserved_concurrency
            && running >= reserved
        {
            return Err(InvokeError::Throttled {
                reason: RESERVED_LIMIT,
            });
        }
        if inner.in_flight_total >= self.max_concurrency {
            return Err(InvokeError::Throttled {
                reason: ACCOUNT_LIMIT,
            });
        }
        *inner.in_flight.entry(name.to_owned()).or_insert(0) += 1;
        inner.in_flight_total += 1;
        let in_flight = InFlight {
            registry: self.clone(),
            name: name.to_owned(),
        };

        let mut start = None;
        let key = (name.to_owned(), qualifier.to_owned());
        let mut permit = None;
        if let Some(pool) = inner.pools.get_mut(&key) {
            while let Some(mut instance) = pool.idle.pop() {
                if instance.is_alive() {
                    start = Some(Start::Warm(instance));
                    break;
                }
                discard.push(instance);
            }
            if start.is_none() && running > 0 {
                pool.waiters.retain(|waiter| !waiter.is_closed());
                let (sender, receiver) = oneshot::channel();
                pool.waiters.push_back(sender);
                start = Some(Start::Wait(receiver, pool.patience()));
            } else if start.is_none() {
                permit = Some(pool.start(self, key));
            }
        }
        let start = match (start, permit) {
            (Some(start), _) => start,
            (None, Some(permit)) => Start::Cold(ColdStart {
                slot: self.reserve_locked(&mut inner, &mut discard),
                permit,
            }),
            (None, None) => unreachable!("the pool was looked up under the same lock"),
        };
        Ok((
            Lease {
                config,
                generation,
                start,
                in_flight,
            },
            discard,
        ))
    }

    /// A cold start for an invocation that waited its patience for a busy instance in vain,
    /// unless [`MAX_STARTS_IN_FLIGHT`] starts of the pool are in flight: then the invocation
    /// waits on, and asks again when one ends. With `bounded` false (the pool went away under a
    /// waiter) the bound does not apply.
    pub(crate) fn start_after_wait(
        self: &Arc<Self>,
        name: &str,
        qualifier: &str,
        bounded: bool,
    ) -> Result<AfterWait, InvokeError> {
        let mut discard = Vec::new();
        let mut inner = lock(&self.inner);
        if inner.shutting_down {
            return Err(InvokeError::Failed(
                "function runtime is shutting down".to_owned(),
            ));
        }
        let key = (name.to_owned(), qualifier.to_owned());
        let permit = match inner.pools.get_mut(&key) {
            Some(pool) if bounded && pool.starting >= MAX_STARTS_IN_FLIGHT => {
                return Ok(AfterWait::StartInFlight(
                    pool.start_ended.clone().notified_owned(),
                ));
            }
            Some(pool) => pool.start(self, key),
            // Removed meanwhile: a permit that counts against no pool.
            None => StartPermit {
                registry: self.clone(),
                key,
                pool_id: 0,
            },
        };
        let slot = self.reserve_locked(&mut inner, &mut discard);
        Ok(AfterWait::Start(ColdStart { slot, permit }, discard))
    }

    /// Reserves a live place, evicting least recently used idle instances while the live count
    /// (minus the instances in `discard`, about to be dropped) is at the cap.
    fn reserve_locked(&self, inner: &mut Inner, discard: &mut Vec<Instance>) -> LiveSlot {
        let mut live = self.live.len().saturating_sub(discard.len());
        while live >= self.max_concurrency {
            match evict_lru(inner) {
                Some(instance) => {
                    discard.push(instance);
                    live -= 1;
                }
                None => break,
            }
        }
        self.live.reserve()
    }

    /// Folds a cold start's init duration into its pool's estimate.
    pub(crate) fn record_init(&self, name: &str, qualifier: &str, init: Duration) {
        let mut inner = lock(&self.inner);
        if let Some(pool) = inner
            .pools
            .get_mut(&(name.to_owned(), qualifier.to_owned()))
        {
            pool.init_estimate = Some(match pool.init_estimate {
                Some(estimate) => (estimate * 3 + init) / 4,
                None => init,
            });
        }
    }

    /// Returns an instance after an invocation. `Some(instance)` means it is not wanted any more
    /// (its pool was reconfigured or removed, or shutdown began): the caller drops it.
    pub(crate) fn give_back(&self, instance: Instance) -> Option<Instance> {
        let mut inner = lock(&self.inner);
        if inner.shutting_down {
            return Some(instance);
        }
        let key = (
            instance_config_name(&instance),
            instance_config_qualifier(&instance),
        );
        match inner.pools.get_mut(&key) {
            Some(pool) if pool.generation == instance.generation() => {
                let mut instance = instance;
                // The longest waiting invocation takes it; waiters that gave up refuse it.
                while let Some(waiter) = pool.waiters.pop_front() {
                    match waiter.send(instance) {
                        Ok(()) => return None,
                        Err(back) => instance = back,
                    }
                }
                instance.release_reply();
                pool.idle.push(instance);
                None
            }
            _ => Some(instance),
        }
    }

    /// Takes out the instances idle for at least `idle_timeout`.
    pub(crate) fn expired(&self, idle_timeout: Duration) -> Vec<Instance> {
        let now = Instant::now();
        let mut inner = lock(&self.inner);
        let mut expired = Vec::new();
        for pool in inner.pools.values_mut() {
            let (old, fresh): (Vec<Instance>, Vec<Instance>) = std::mem::take(&mut pool.idle)
                .into_iter()
                .partition(|i| now.duration_since(i.last_used) >= idle_timeout);
            pool.idle = fresh;
            expired.extend(old);
        }
        expired
    }

    /// Stops accepting invocations, takes out every idle instance and kills every live process
    /// group (busy invocations then end with a runtime exit error).
    pub(crate) fn close(&self) -> Vec<Instance> {
        let idle: Vec<Instance> = {
            let mut inner = lock(&self.inner);
            inner.shutting_down = true;
            inner
                .pools
                .drain()
                .flat_map(|(_, pool)| pool.idle)
                .collect()
        };
        self.live.close_and_kill();
        idle
    }

    /// Live instances (busy, idle or starting).
    pub(crate) fn live_instances(&self) -> usize {
        self.live.len()
    }
}

fn instance_config_name(instance: &Instance) -> String {
    instance.config().name.clone()
}

fn instance_config_qualifier(instance: &Instance) -> String {
    instance.config().qualifier.clone()
}

/// Removes the least recently used idle instance of any pool.
fn evict_lru(inner: &mut Inner) -> Option<Instance> {
    let (key, index) = inner
        .pools
        .iter()
        .flat_map(|(key, pool)| {
            pool.idle
                .iter()
                .enumerate()
                .map(move |(index, instance)| (instance.last_used, key, index))
        })
        .min_by_key(|(last_used, _, _)| *last_used)
        .map(|(_, key, index)| (key.clone(), index))?;
    inner
        .pools
        .get_mut(&key)
        .map(|pool| pool.idle.remove(index))
}
