//! Upstreams: one Pingora `LoadBalancer` (round-robin) per named upstream, with a TCP health
//! check every `edge.health_check_secs` that takes addresses refusing connections out of the
//! rotation until they accept them again.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use pingora::lb::LoadBalancer;
use pingora::lb::health_check::TcpHealthCheck;
use pingora::lb::selection::RoundRobin;
use pingora::services::background::{GenBackgroundService, background_service};

/// A balanced upstream.
pub type Balancer = LoadBalancer<RoundRobin>;

/// The upstreams by name, and the background services that check their health (to be added to
/// the Pingora server).
pub struct Upstreams {
    /// Balancers by upstream name.
    pub balancers: BTreeMap<String, Arc<Balancer>>,
    /// The health-check services, one per upstream.
    pub services: Vec<GenBackgroundService<Balancer>>,
}

/// Builds a health-checked balancer for each upstream in `addrs`.
pub fn build(
    addrs: &BTreeMap<String, Vec<SocketAddr>>,
    check_every: Duration,
) -> std::io::Result<Upstreams> {
    let mut balancers = BTreeMap::new();
    let mut services = Vec::new();
    for (name, list) in addrs {
        let mut lb = Balancer::try_from_iter(list.iter().copied())?;
        // Pingora logs each address going down or coming back.
        lb.set_health_check(TcpHealthCheck::new());
        lb.health_check_frequency = Some(check_every);
        lb.parallel_health_check = true;
        let service = background_service(&format!("edge health check {name}"), lb);
        balancers.insert(name.clone(), service.task());
        services.push(service);
    }
    Ok(Upstreams {
        balancers,
        services,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn pick(lb: &Balancer) -> SocketAddr {
        let backend = lb.select(b"", 16).expect("a healthy address");
        *backend.addr.as_inet().expect("an IP address")
    }

    #[tokio::test]
    async fn health_checks_take_dead_addresses_out_of_the_rotation() {
        let live = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let live_addr = live.local_addr().unwrap();
        // Bound and closed again: connections to it are refused.
        let dead_addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let addrs = BTreeMap::from([("app".to_owned(), vec![dead_addr, live_addr])]);
        let upstreams = build(&addrs, Duration::from_secs(1)).unwrap();
        assert_eq!(upstreams.services.len(), 1);
        let lb = &upstreams.balancers["app"];
        // Until checked, both addresses take turns.
        let before: HashSet<SocketAddr> = (0..4).map(|_| pick(lb)).collect();
        assert_eq!(before, HashSet::from([dead_addr, live_addr]));
        lb.backends().run_health_check(false).await;
        for _ in 0..4 {
            assert_eq!(pick(lb), live_addr);
        }
        drop(live);
        lb.backends().run_health_check(false).await;
        assert!(lb.select(b"", 16).is_none(), "no healthy address left");
    }
}
