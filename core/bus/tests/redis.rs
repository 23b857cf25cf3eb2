//! The Redis bus against a real Redis (`ACCORD_TEST_REDIS_ADDR`, default `127.0.0.1:6379`).
//!
//! Every test uses its own channel prefix, so tests running in parallel do not see each other's
//! events; two `Bus::redis` instances stand for two processes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use accord_bus::{Audience, Bus, BusError, Dispatch, Event, RecvError, Subscription};
use accord_model::{ChannelId, GuildId, UserId};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

const WAIT: Duration = Duration::from_secs(10);

fn redis_addr() -> String {
    std::env::var("ACCORD_TEST_REDIS_ADDR").unwrap_or_else(|_| "127.0.0.1:6379".into())
}

fn redis_url() -> String {
    format!("redis://{}", redis_addr())
}

fn unique_prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("t-{test}-{}-{nanos}", std::process::id())
}

async fn open(url: &str, prefix: &str, capacity: usize) -> Bus {
    Bus::redis(url, prefix, capacity)
        .await
        .unwrap_or_else(|e| panic!("Redis must be running at {url} for these tests: {e}"))
}

fn dispatch(name: &str, audience: Audience, n: u64) -> Event {
    Event::Dispatch(Dispatch {
        name: name.into(),
        audience,
        data: format!(r#"{{"n":{n}}}"#).into(),
    })
}

async fn next(sub: &mut Subscription) -> Result<Event, RecvError> {
    tokio::time::timeout(WAIT, sub.recv())
        .await
        .expect("no event within the time limit")
}

fn every_kind() -> Vec<Event> {
    vec![
        dispatch("GUILD_UPDATE", Audience::Guild(GuildId::new(10)), 1),
        dispatch("CHANNEL_UPDATE", Audience::Channel(ChannelId::new(11)), 2),
        dispatch("USER_UPDATE", Audience::Users(vec![UserId::new(12)]), 3),
        dispatch(
            "RELATIONSHIP_ADD",
            Audience::Users(vec![UserId::new(12), UserId::new(13)]),
            4,
        ),
        dispatch("NOBODY", Audience::Users(vec![]), 5),
        Event::TokensCutOff {
            user: UserId::new(14),
            valid_after_ms: 1_700_000_000_000,
        },
        Event::TokenRevoked {
            user: UserId::new(15),
            token_id: "abc.def".into(),
        },
    ]
}

#[tokio::test]
async fn events_cross_processes_in_order_with_every_kind() {
    let prefix = unique_prefix("kinds");
    let a = open(&redis_url(), &prefix, 64).await;
    let b = open(&redis_url(), &prefix, 64).await;
    let mut on_a = a.subscribe();
    let mut on_b = b.subscribe();
    let events = every_kind();
    for e in &events {
        a.publish(e.clone()).await.unwrap();
    }
    for e in &events {
        assert_eq!(&next(&mut on_b).await.unwrap(), e);
    }
    // The publishing process sees its own events too, in the same order.
    for e in &events {
        assert_eq!(&next(&mut on_a).await.unwrap(), e);
    }
    assert!(on_b.try_recv().is_none());
}

#[tokio::test]
async fn other_prefixes_are_not_seen() {
    let prefix = unique_prefix("isolated");
    let a = open(&redis_url(), &prefix, 16).await;
    let other = open(&redis_url(), &format!("{prefix}-other"), 16).await;
    let mut sub = a.subscribe();
    other
        .publish(dispatch("X", Audience::Guild(GuildId::new(1)), 1))
        .await
        .unwrap();
    let mine = dispatch("Y", Audience::Guild(GuildId::new(1)), 2);
    a.publish(mine.clone()).await.unwrap();
    assert_eq!(next(&mut sub).await.unwrap(), mine);
}

#[tokio::test]
async fn ten_thousand_events_arrive_complete_and_in_order() {
    const N: u64 = 10_000;
    let prefix = unique_prefix("many");
    let a = open(&redis_url(), &prefix, 16).await;
    let b = open(&redis_url(), &prefix, N as usize).await;
    let mut sub = b.subscribe();
    let consumer = tokio::spawn(async move {
        for i in 0..N {
            let expected = dispatch("N", Audience::Channel(ChannelId::new(i % 7 + 1)), i);
            assert_eq!(next(&mut sub).await.unwrap(), expected, "event {i}");
        }
        sub
    });
    for i in 0..N {
        a.publish(dispatch(
            "N",
            Audience::Channel(ChannelId::new(i % 7 + 1)),
            i,
        ))
        .await
        .unwrap();
    }
    let mut sub = consumer.await.unwrap();
    assert!(sub.try_recv().is_none());
}

#[tokio::test]
async fn a_subscription_sees_only_later_events() {
    let prefix = unique_prefix("later");
    let a = open(&redis_url(), &prefix, 16).await;
    let b = open(&redis_url(), &prefix, 16).await;

    // Another process's event, already delivered to this process, is not replayed.
    let mut early = b.subscribe();
    let first = dispatch("FIRST", Audience::Guild(GuildId::new(1)), 1);
    a.publish(first.clone()).await.unwrap();
    assert_eq!(next(&mut early).await.unwrap(), first);
    let mut late = b.subscribe();
    let second = dispatch("SECOND", Audience::Guild(GuildId::new(1)), 2);
    a.publish(second.clone()).await.unwrap();
    assert_eq!(next(&mut late).await.unwrap(), second);

    // An event of this process's own bus published before the call is never seen, even when
    // Redis delivers it back after the subscription was made.
    for round in 0..50 {
        let before = dispatch("BEFORE", Audience::Users(vec![UserId::new(3)]), round);
        let after = dispatch("AFTER", Audience::Users(vec![UserId::new(3)]), round);
        a.publish(before).await.unwrap();
        let mut sub = a.subscribe();
        a.publish(after.clone()).await.unwrap();
        assert_eq!(next(&mut sub).await.unwrap(), after, "round {round}");
    }
}

#[tokio::test]
async fn unreachable_redis_fails_with_transport_error() {
    let err = Bus::redis("redis://127.0.0.1:1", &unique_prefix("down"), 16)
        .await
        .expect_err("nothing listens on port 1");
    assert!(matches!(err, BusError::Transport(_)), "{err:?}");

    let err = Bus::redis("not a url", "accord", 16).await.unwrap_err();
    assert!(matches!(err, BusError::Transport(_)), "{err:?}");

    let err = Bus::redis(&redis_url(), "bad:prefix", 16)
        .await
        .unwrap_err();
    assert!(matches!(err, BusError::Transport(_)), "{err:?}");
}

/// A TCP relay to Redis that can drop every connection and refuse service until restored.
struct Relay {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    cut: watch::Sender<u64>,
}

impl Relay {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let (cut, cut_rx) = watch::channel(0u64);
        let serving = up.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if !serving.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let mut cut_rx = cut_rx.clone();
                cut_rx.borrow_and_update();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut_rx.changed() => {}
                    }
                });
            }
        });
        Self { addr, up, cut }
    }

    fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    /// Drops every relayed connection and closes new ones at once.
    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn an_outage_fails_publishing_and_surfaces_as_lag() {
    let prefix = unique_prefix("outage");
    let relay = Relay::start(redis_addr()).await;
    let direct = open(&redis_url(), &prefix, 16).await;
    let relayed = open(&relay.url(), &prefix, 16).await;
    let mut sub = relayed.subscribe();

    let before = dispatch("BEFORE", Audience::Guild(GuildId::new(1)), 1);
    direct.publish(before.clone()).await.unwrap();
    assert_eq!(next(&mut sub).await.unwrap(), before);

    relay.cut();
    let err = tokio::time::timeout(
        WAIT,
        relayed.publish(dispatch("X", Audience::Guild(GuildId::new(1)), 2)),
    )
    .await
    .expect("publishing during an outage must fail, not hang")
    .expect_err("Redis is unreachable");
    assert!(matches!(err, BusError::Transport(_)), "{err:?}");
    let lost = dispatch("LOST", Audience::Guild(GuildId::new(1)), 3);
    direct.publish(lost).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    relay.restore();

    // The subscriber reconnects and reports the gap before anything newer.
    assert_eq!(next(&mut sub).await, Err(RecvError::Lagged(0)));
    let after = dispatch("AFTER", Audience::Guild(GuildId::new(1)), 4);
    direct.publish(after.clone()).await.unwrap();
    assert_eq!(next(&mut sub).await.unwrap(), after);

    // Publishing through the relay works again once the publisher has reconnected.
    let mut published = false;
    for _ in 0..50 {
        if relayed
            .publish(dispatch("BACK", Audience::Guild(GuildId::new(1)), 5))
            .await
            .is_ok()
        {
            published = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(published, "the publisher never reconnected");
    assert_eq!(
        next(&mut sub).await.unwrap(),
        dispatch("BACK", Audience::Guild(GuildId::new(1)), 5)
    );
}

#[tokio::test]
async fn dropping_the_bus_closes_subscriptions() {
    let bus = open(&redis_url(), &unique_prefix("drop"), 16).await;
    let mut sub = bus.subscribe();
    drop(bus);
    assert_eq!(next(&mut sub).await, Err(RecvError::Closed));
}
