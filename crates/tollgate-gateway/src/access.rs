//! Account-wide access state, apart from the stage plans: API keys, usage plans (throttles,
//! quotas), the account's throttle, and usage metering.
//!
//! The registry is compiled from the store and swapped whole when a key, plan, plan member,
//! usage adjustment or the account changes, so disabling a key recompiles no stage plan. Every
//! limiter, quota counter and usage counter is resolved at compile time from [`SharedState`] (by
//! name, so recompiling keeps their state): admitting a request is a map lookup by key value and
//! a few atomic operations. A background task writes metered usage to the store every few
//! seconds (and when the gateway stops), where GetUsage reads it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::broadcast::error::RecvError;
use tollgate_model::calendar::day_of;
use tollgate_model::layout::{
    ACCOUNT, API_KEY, USAGE, USAGE_ADJUSTMENT, USAGE_PLAN, USAGE_PLAN_KEY,
};
use tollgate_model::rest::{Account, ApiKey, QuotaSettings, UsagePlan, UsagePlanKey};
use tollgate_model::usage::{DailyUsage, UsageAdjustment, period_of};
use tollgate_shared::{PeriodCounter, RateLimit, RateLimiter, SharedState};
use tollgate_store::{Expect, Key, Store, StoreError, Write};

use crate::error::GatewayError;

/// How often metered usage is written to the store.
const FLUSH_EVERY: Duration = Duration::from_secs(2);

/// Requests and bytes not yet written to the store.
#[derive(Default)]
pub struct UsageCounters {
    requests: AtomicI64,
    bytes_in: AtomicI64,
    bytes_out: AtomicI64,
}

impl UsageCounters {
    pub fn record_request(&self, bytes_in: usize) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.bytes_in.fetch_add(bytes_in as i64, Ordering::Relaxed);
    }

    pub fn record_response(&self, bytes_out: usize) {
        self.bytes_out
            .fetch_add(bytes_out as i64, Ordering::Relaxed);
    }

    fn take(&self) -> (i64, i64, i64) {
        (
            self.requests.swap(0, Ordering::Relaxed),
            self.bytes_in.swap(0, Ordering::Relaxed),
            self.bytes_out.swap(0, Ordering::Relaxed),
        )
    }

    fn pending_requests(&self) -> i64 {
        self.requests.load(Ordering::Relaxed)
    }
}

/// A key's quota in one usage plan.
pub struct Quota {
    settings: QuotaSettings,
    counter: Arc<dyn PeriodCounter>,
}

/// What a key may do on one stage, through the usage plan that covers it.
pub struct StageAccess {
    pub plan_id: String,
    pub key_id: String,
    limiter: Option<Arc<dyn RateLimiter>>,
    /// `{resourcePath}/{METHOD}` -> limiter.
    method_limiters: HashMap<String, Arc<dyn RateLimiter>>,
    quota: Option<Quota>,
    pub usage: Arc<UsageCounters>,
}

impl StageAccess {
    /// Applies the plan's method throttle, its throttle and its quota, in AWS's order.
    pub fn admit(&self, resource_path: &str, http_method: &str) -> Result<(), GatewayError> {
        if !self.method_limiters.is_empty() {
            let key = format!("{resource_path}/{http_method}");
            let limiter = self
                .method_limiters
                .get(&key)
                .or_else(|| self.method_limiters.get(&format!("{resource_path}/*")));
            if let Some(limiter) = limiter
                && !limiter.try_acquire()
            {
                return Err(GatewayError::RateExceeded);
            }
        }
        if let Some(limiter) = &self.limiter
            && !limiter.try_acquire()
        {
            return Err(GatewayError::RateExceeded);
        }
        if let Some(quota) = &self.quota {
            let today = day_of(tollgate_model::now_epoch_seconds());
            let (period, _) = period_of(today, &quota.settings);
            if !quota
                .counter
                .try_take(period as u64, quota.settings.limit.max(0) as u64)
            {
                return Err(GatewayError::QuotaExceeded);
            }
        }
        Ok(())
    }
}

/// One API key as the data plane sees it.
pub struct KeyAccess {
    pub id: String,
    pub enabled: bool,
    /// api id -> stage -> access.
    stages: HashMap<String, HashMap<String, Arc<StageAccess>>>,
}

impl KeyAccess {
    pub fn stage(&self, api_id: &str, stage: &str) -> Option<&Arc<StageAccess>> {
        self.stages.get(api_id)?.get(stage)
    }
}

/// The compiled registry.
pub struct Registry {
    keys_by_value: HashMap<String, Arc<KeyAccess>>,
    pub account_limiter: Arc<dyn RateLimiter>,
}

impl Registry {
    pub fn key(&self, value: &str) -> Option<&Arc<KeyAccess>> {
        self.keys_by_value.get(value)
    }
}

pub struct Access {
    current: ArcSwap<Registry>,
    store: Arc<dyn Store>,
    shared: Arc<dyn SharedState>,
    /// Usage counters by `{apiId}/{stage}/{keyId}`, kept across recompiles so nothing counted
    /// is lost before it is flushed.
    usage: Mutex<HashMap<String, Arc<UsageCounters>>>,
}

const REGISTRY_KINDS: &[&str] = &[
    ACCOUNT,
    API_KEY,
    USAGE_PLAN,
    USAGE_PLAN_KEY,
    USAGE_ADJUSTMENT,
];

impl Access {
    pub async fn start(
        store: Arc<dyn Store>,
        shared: Arc<dyn SharedState>,
    ) -> Result<Arc<Self>, StoreError> {
        let feed = store.subscribe();
        let account_limiter = shared.rate_limiter("account", RateLimit::new(10_000.0, 5_000));
        let access = Arc::new(Self {
            current: ArcSwap::from_pointee(Registry {
                keys_by_value: HashMap::new(),
                account_limiter,
            }),
            store,
            shared,
            usage: Mutex::new(HashMap::new()),
        });
        access.reload().await?;
        tokio::spawn(Arc::clone(&access).follow(feed));
        tokio::spawn(Arc::clone(&access).flush_periodically());
        Ok(access)
    }

    pub fn registry(&self) -> arc_swap::Guard<Arc<Registry>> {
        self.current.load()
    }

    async fn follow(
        self: Arc<Self>,
        mut feed: tokio::sync::broadcast::Receiver<tollgate_store::Change>,
    ) {
        loop {
            let reload = match feed.recv().await {
                Ok(change) => change.touches_any(REGISTRY_KINDS),
                Err(RecvError::Lagged(_)) => true,
                Err(RecvError::Closed) => return,
            };
            if reload && let Err(e) = self.reload().await {
                tracing::error!(error = %e, "could not reload API keys and usage plans");
            }
        }
    }

    fn usage_counters(&self, api_id: &str, stage: &str, key_id: &str) -> Arc<UsageCounters> {
        let mut usage = self.usage.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(
            usage
                .entry(format!("{api_id}/{stage}/{key_id}"))
                .or_default(),
        )
    }

    async fn reload(&self) -> Result<(), StoreError> {
        let account: Account = self
            .store
            .get(&Key::new("", ACCOUNT, "account"))
            .await?
            .and_then(|d| serde_json::from_value(d.body).ok())
            .unwrap_or_default();
        let account_limiter = self.shared.rate_limiter(
            "account",
            RateLimit::new(
                account.throttle_settings.rate_limit,
                account.throttle_settings.burst_limit.max(0) as u64,
            ),
        );
        let keys: Vec<ApiKey> = decode_all(self.store.list("", API_KEY).await?);
        let plans: Vec<UsagePlan> = decode_all(self.store.list("", USAGE_PLAN).await?);
        let usage: Vec<DailyUsage> = decode_all(self.store.list("usage", USAGE).await?);
        let today = day_of(tollgate_model::now_epoch_seconds());
        let mut members: HashMap<String, Vec<&UsagePlan>> = HashMap::new();
        let mut adjustments: HashMap<(String, String), UsageAdjustment> = HashMap::new();
        for plan in &plans {
            for member in
                decode_all::<UsagePlanKey>(self.store.list(&plan.id, USAGE_PLAN_KEY).await?)
            {
                members.entry(member.id).or_default().push(plan);
            }
            for adj in
                decode_all::<UsageAdjustment>(self.store.list(&plan.id, USAGE_ADJUSTMENT).await?)
            {
                adjustments.insert((plan.id.clone(), adj.api_key_id.clone()), adj);
            }
        }
        let mut keys_by_value = HashMap::new();
        for key in keys {
            let mut stages: HashMap<String, HashMap<String, Arc<StageAccess>>> = HashMap::new();
            for plan in members.get(&key.id).into_iter().flatten() {
                let quota = plan.quota.as_ref().map(|settings| {
                    let counter = self
                        .shared
                        .counter(&format!("quota/{}/{}", plan.id, key.id));
                    let (start, _) = period_of(today, settings);
                    // Restore the period's count: what was metered (and flushed), what is
                    // counted but not flushed yet, and any UpdateUsage adjustment.
                    let metered: i64 = usage
                        .iter()
                        .filter(|u| {
                            u.api_key_id == key.id
                                && (start..=today).contains(&u.day)
                                && plan.api_stage(&u.api_id, &u.stage).is_some()
                        })
                        .map(|u| u.requests)
                        .sum();
                    let pending: i64 = plan
                        .api_stages
                        .iter()
                        .map(|s| {
                            self.usage_counters(&s.api_id, &s.stage, &key.id)
                                .pending_requests()
                        })
                        .sum();
                    let offset = adjustments
                        .get(&(plan.id.clone(), key.id.clone()))
                        .filter(|a| a.period_start == start)
                        .map_or(0, |a| a.offset);
                    counter.set(start as u64, (metered + pending + offset).max(0) as u64);
                    Quota {
                        settings: settings.clone(),
                        counter,
                    }
                });
                let limiter = plan.throttle.as_ref().map(|t| {
                    self.shared.rate_limiter(
                        &format!("plan/{}/{}", plan.id, key.id),
                        RateLimit::new(t.rate_limit, t.burst_limit.max(0) as u64),
                    )
                });
                let quota = quota.map(Arc::new);
                for api_stage in &plan.api_stages {
                    let method_limiters = api_stage
                        .throttle
                        .iter()
                        .flatten()
                        .map(|(method, t)| {
                            let name = format!(
                                "plan/{}/{}/{}/{}/{method}",
                                plan.id, key.id, api_stage.api_id, api_stage.stage
                            );
                            let limit = RateLimit::new(t.rate_limit, t.burst_limit.max(0) as u64);
                            (method.clone(), self.shared.rate_limiter(&name, limit))
                        })
                        .collect();
                    let access = StageAccess {
                        plan_id: plan.id.clone(),
                        key_id: key.id.clone(),
                        limiter: limiter.clone(),
                        method_limiters,
                        quota: quota.as_ref().map(|q| Quota {
                            settings: q.settings.clone(),
                            counter: Arc::clone(&q.counter),
                        }),
                        usage: self.usage_counters(&api_stage.api_id, &api_stage.stage, &key.id),
                    };
                    stages
                        .entry(api_stage.api_id.clone())
                        .or_default()
                        .insert(api_stage.stage.clone(), Arc::new(access));
                }
            }
            keys_by_value.insert(
                key.value.clone(),
                Arc::new(KeyAccess {
                    id: key.id,
                    enabled: key.enabled,
                    stages,
                }),
            );
        }
        self.current.store(Arc::new(Registry {
            keys_by_value,
            account_limiter,
        }));
        Ok(())
    }

    async fn flush_periodically(self: Arc<Self>) {
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        loop {
            tick.tick().await;
            if let Err(e) = self.flush().await {
                tracing::warn!(error = %e, "could not write usage; will retry");
            }
        }
    }

    /// Adds what was counted since the last flush to today's usage documents.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let counters: Vec<(String, Arc<UsageCounters>)> = self
            .usage
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), Arc::clone(v)))
            .collect();
        let today = day_of(tollgate_model::now_epoch_seconds());
        for (name, counters) in counters {
            let (requests, bytes_in, bytes_out) = counters.take();
            if requests == 0 && bytes_in == 0 && bytes_out == 0 {
                continue;
            }
            let mut parts = name.splitn(3, '/');
            let (Some(api_id), Some(stage), Some(key_id)) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let id = DailyUsage::id(today, api_id, stage, key_id);
            let key = Key::new("usage", USAGE, &id);
            let mut attempts = 0;
            loop {
                let current = self.store.get(&key).await?;
                let (mut usage, expect) = match current {
                    Some(doc) => (
                        serde_json::from_value::<DailyUsage>(doc.body).unwrap_or_default(),
                        Expect::Version(doc.version),
                    ),
                    None => (
                        DailyUsage {
                            day: today,
                            api_id: api_id.into(),
                            stage: stage.into(),
                            api_key_id: key_id.into(),
                            ..Default::default()
                        },
                        Expect::Absent,
                    ),
                };
                usage.requests += requests;
                usage.bytes_in += bytes_in;
                usage.bytes_out += bytes_out;
                let body = serde_json::to_value(&usage).unwrap_or_default();
                match self
                    .store
                    .commit(vec![Write::put(key.clone(), body, expect)])
                    .await
                {
                    Ok(_) => break,
                    Err(StoreError::Conflict { .. }) if attempts < 8 => attempts += 1,
                    Err(e) => {
                        // Put the counts back so the next flush tries again.
                        counters.requests.fetch_add(requests, Ordering::Relaxed);
                        counters.bytes_in.fetch_add(bytes_in, Ordering::Relaxed);
                        counters.bytes_out.fetch_add(bytes_out, Ordering::Relaxed);
                        return Err(e);
                    }
                }
            }
        }
        Ok(())
    }
}

fn decode_all<T: serde::de::DeserializeOwned>(docs: Vec<tollgate_store::Doc>) -> Vec<T> {
    docs.into_iter()
        .filter_map(|d| serde_json::from_value(d.body).ok())
        .collect()
}
