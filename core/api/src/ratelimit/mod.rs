//! Discord-style REST rate limiting: a middleware that charges every `/api` request against its
//! route bucket (per route template, major parameter and caller), the caller's global limit and
//! the instance-wide shared limits, adds the `X-RateLimit-*` headers to the response, and answers
//! HTTP 429 without running the handler past a limit. Counters live in this process or in Redis.

pub use accord_ratelimit::{counters, memory, redis};
pub mod response;
pub mod rules;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use accord_config::{Config, IpNet, RateLimitBackend};
use accord_model::{Rights, UserId};
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use dashmap::DashMap;

use crate::extract::auth::authenticate;
use crate::state::AppState;
use counters::{Limit, Verdict};
use memory::MemoryCounters;
use redis::RedisCounters;
use rules::{Caller, Rules};

/// Cached rights entries kept before expired ones are swept.
const RIGHTS_CACHE_SWEEP_AT: usize = 10_000;

/// The rate limiter of one API process.
pub struct RateLimiter {
    enabled: bool,
    rules: Rules,
    memory: MemoryCounters,
    redis: Option<RedisCounters>,
    trusted_proxies: Vec<IpNet>,
    rights_ttl: Duration,
    /// Account id → (holds `BYPASS_RATE_LIMITS`, when it was looked up).
    rights: DashMap<u64, (bool, Instant)>,
    last_redis_warning: AtomicU64,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("enabled", &self.enabled)
            .field("redis", &self.redis.is_some())
            .finish()
    }
}

impl RateLimiter {
    /// A limiter for `config.rate_limits`. A Redis backend connects on first use.
    pub fn new(config: &Config) -> Self {
        let c = &config.rate_limits;
        let redis = match (c.backend, c.redis_url.as_deref()) {
            (RateLimitBackend::Redis, Some(url)) => {
                match RedisCounters::new(url, &c.redis_key_prefix) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        tracing::error!(error = %e, "rate limits: invalid Redis URL, counting in memory");
                        None
                    }
                }
            }
            _ => None,
        };
        Self {
            enabled: c.enabled,
            rules: Rules::new(c),
            memory: MemoryCounters::new(),
            redis,
            trusted_proxies: config.trusted_proxies(),
            rights_ttl: Duration::from_secs(c.rights_cache_secs.max(1)),
            rights: DashMap::new(),
            last_redis_warning: AtomicU64::new(0),
        }
    }

    /// Charges one request against `limits` (all or nothing). Redis errors fall back to the
    /// in-process counters, so limits still hold per process.
    pub async fn acquire(&self, limits: &[Limit]) -> Verdict {
        if let Some(redis) = &self.redis {
            match redis.acquire(limits).await {
                Ok(verdict) => return verdict,
                Err(e) => self.warn_redis(&e),
            }
        }
        self.memory.acquire(counters::now_us(), limits)
    }

    fn warn_redis(&self, e: &::redis::RedisError) {
        let now = counters::now_us();
        let last = self.last_redis_warning.load(Ordering::Relaxed);
        if now.saturating_sub(last) > 60_000_000
            && self
                .last_redis_warning
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(error = %e, "rate limits: Redis unavailable, counting in memory");
        }
    }

    /// Whether account `id` holds `BYPASS_RATE_LIMITS` (cached for `rights_cache_secs`).
    pub async fn bypasses(&self, state: &AppState, id: u64) -> bool {
        if let Some(entry) = self.rights.get(&id)
            && entry.1.elapsed() < self.rights_ttl
        {
            return entry.0;
        }
        let bypass = match state.store.user(UserId::new(id)).await {
            Ok(Some(user)) => user.rights().has(Rights::BYPASS_RATE_LIMITS),
            Ok(None) => false,
            Err(e) => {
                tracing::warn!(error = %e, "rate limits: cannot load rights");
                return false;
            }
        };
        if self.rights.len() >= RIGHTS_CACHE_SWEEP_AT {
            let ttl = self.rights_ttl;
            self.rights.retain(|_, (_, at)| at.elapsed() < ttl);
        }
        self.rights.insert(id, (bypass, Instant::now()));
        bypass
    }

    /// The client address: the peer, or for a trusted proxy the last `X-Forwarded-For` entry
    /// that is not itself a trusted proxy.
    fn client_ip(&self, req: &Request) -> String {
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let Some(peer) = peer else {
            return "unknown".to_owned();
        };
        let trusted = |ip: IpAddr| self.trusted_proxies.iter().any(|n| n.contains(ip));
        if !trusted(peer) {
            return peer.to_string();
        }
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse::<IpAddr>().ok())
            .collect::<Vec<_>>();
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !trusted(*ip))
            .unwrap_or(peer)
            .to_string()
    }
}

/// The middleware state: the app state (for tokens and rights) and the limiter.
pub type LimiterState = (AppState, Arc<RateLimiter>);

/// Charges the request, then runs it and adds the rate-limit headers, or answers 429.
pub async fn middleware(
    State((state, limiter)): State<LimiterState>,
    req: Request,
    next: Next,
) -> Response {
    if !limiter.enabled {
        return next.run(req).await;
    }
    let path = req.uri().path().to_owned();
    if rules::strip_api_prefix(&path).is_none() {
        return next.run(req).await;
    }
    let matched = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let template = matched.as_deref().and_then(rules::strip_api_prefix);
    let params = matched
        .as_deref()
        .map(|m| rules::params(m, &path))
        .unwrap_or_default();
    let caller = match req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| authenticate(&state, h).ok())
    {
        Some(auth) => Caller::Account {
            id: auth.user_id.get(),
            bot: auth.bot,
        },
        None => Caller::Address(limiter.client_ip(&req)),
    };
    let method = req.method().as_str().to_owned();
    let plan = limiter.rules.plan(&method, template, &params, &caller);
    let limits: Vec<Limit> = plan.limits.iter().map(|(_, l)| l.clone()).collect();
    let verdict = limiter.acquire(&limits).await;
    if !verdict.allowed {
        let exempt = match caller {
            Caller::Account { id, .. } => limiter.bypasses(&state, id).await,
            Caller::Address(_) => false,
        };
        if !exempt && let Some((kind, retry_us)) = response::blocking(&plan, &verdict) {
            metrics::counter!("accord_api_rate_limited_total", "scope" => response::scope(kind))
                .increment(1);
            return response::too_many_requests(&plan, &verdict, kind, retry_us);
        }
    }
    let mut resp = next.run(req).await;
    response::add_headers(resp.headers_mut(), &plan, &verdict);
    resp
}
