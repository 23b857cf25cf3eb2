//! The Redis bus against a real Redis (`ACCORD_TEST_REDIS_ADDR`, default `127.0.0.1:6379`).
//!
//! Every test uses its own channel prefix, so tests running in parallel do not see each other's
//! events; two `Bus::redis` instances stand for two processes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use accord_bus::{
    Audience, Bus, BusError, Dispatch, Event, Interest, LogId, LogSettings, PresenceWrite,
    RecvError, SessionRecord, Subscription,
};
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
    Bus::redis(
        url,
        prefix,
        capacity,
        LogSettings::default(),
        Interest::Everything,
    )
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
    let err = Bus::redis(
        "redis://127.0.0.1:1",
        &unique_prefix("down"),
        16,
        LogSettings::default(),
        Interest::Everything,
    )
    .await
    .expect_err("nothing listens on port 1");
    assert!(matches!(err, BusError::Transport(_)), "{err:?}");

    let err = Bus::redis(
        "not a url",
        "accord",
        16,
        LogSettings::default(),
        Interest::Everything,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, BusError::Transport(_)), "{err:?}");

    let err = Bus::redis(
        &redis_url(),
        "bad:prefix",
        16,
        LogSettings::default(),
        Interest::Everything,
    )
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

#[tokio::test]
async fn the_log_holds_every_event_at_the_position_subscribers_see() {
    let prefix = unique_prefix("log");
    let a = open(&redis_url(), &prefix, 16).await;
    let b = open(&redis_url(), &prefix, 16).await;
    let log = b.redis_bus().unwrap();
    let start = log.log_head().await.unwrap();
    assert_eq!(start, LogId::ZERO, "a new prefix has an empty log");
    let mut sub = b.subscribe();
    let sent = every_kind();
    for e in &sent {
        a.publish(e.clone()).await.unwrap();
    }
    let mut seen = Vec::new();
    for _ in &sent {
        let (event, id) = tokio::time::timeout(WAIT, sub.recv_logged())
            .await
            .unwrap()
            .unwrap();
        seen.push((id.expect("Redis events carry their log position"), event));
    }
    let head = log.log_head().await.unwrap();
    assert_eq!(head, seen.last().unwrap().0);
    let all = log.log_range(start, head, 100).await.unwrap();
    assert_eq!(all, seen, "the log is the subscription's order");
    // Exclusive start, inclusive end, limit.
    let tail = log.log_range(seen[0].0, seen[2].0, 100).await.unwrap();
    assert_eq!(tail, seen[1..3].to_vec());
    assert_eq!(
        log.log_range(start, head, 2).await.unwrap(),
        seen[..2].to_vec()
    );
    assert!(log.log_range(head, head, 10).await.unwrap().is_empty());
    assert!(!log.log_trimmed_after(start).await.unwrap());
}

#[tokio::test]
async fn a_trimmed_log_says_so() {
    let prefix = unique_prefix("trim");
    let bus = Bus::redis(
        &redis_url(),
        &prefix,
        16,
        LogSettings {
            retention_ms: 300_000,
            max_len: 10,
        },
        Interest::Everything,
    )
    .await
    .unwrap();
    let log = bus.redis_bus().unwrap();
    let mut sub = bus.subscribe();
    // Approximate trimming drops whole stream nodes (100 entries by default).
    let mut first = None;
    for n in 0..250 {
        bus.publish(dispatch("E", Audience::Guild(GuildId::new(1)), n))
            .await
            .unwrap();
        let (_, id) = tokio::time::timeout(WAIT, sub.recv_logged())
            .await
            .unwrap()
            .unwrap();
        first.get_or_insert(id.unwrap());
    }
    let first = first.unwrap();
    assert!(log.log_trimmed_after(first).await.unwrap());
    assert!(log.log_trimmed_after(LogId::ZERO).await.unwrap());
    assert!(
        !log.log_trimmed_after(log.log_head().await.unwrap())
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn session_records_belong_to_whoever_claimed_them_last() {
    let prefix = unique_prefix("records");
    let a = open(&redis_url(), &prefix, 16).await;
    let b = open(&redis_url(), &prefix, 16).await;
    let (a, b) = (a.redis_bus().unwrap(), b.redis_bus().unwrap());
    assert_ne!(a.origin(), b.origin());
    let record = |data: &[u8]| SessionRecord {
        id: "s1".into(),
        data: data.to_vec(),
    };
    a.put_sessions(&[record(b"one")], 1).await.unwrap();
    // Renewed: still there after the first TTL ran out.
    a.touch_sessions(&["s1".to_owned()], 60).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(b.claim_session("nope", 60).await.unwrap(), None);
    assert_eq!(
        b.read_session("s1").await.unwrap().as_deref(),
        Some(&b"one"[..])
    );
    // Reading does not take it over.
    a.put_sessions(&[record(b"one")], 60).await.unwrap();
    assert_eq!(
        b.claim_session("s1", 60).await.unwrap().as_deref(),
        Some(&b"one"[..])
    );
    // The former holder can neither overwrite nor delete it any more.
    a.put_sessions(&[record(b"stale")], 60).await.unwrap();
    a.delete_session("s1").await.unwrap();
    b.put_sessions(&[record(b"two")], 60).await.unwrap();
    assert_eq!(
        a.claim_session("s1", 60).await.unwrap().as_deref(),
        Some(&b"two"[..])
    );
    a.delete_session("s1").await.unwrap();
    assert_eq!(b.claim_session("s1", 60).await.unwrap(), None);
}

#[tokio::test]
async fn a_chosen_interest_receives_only_what_it_asked_for() {
    let prefix = unique_prefix("chosen");
    let a = open(&redis_url(), &prefix, 64).await;
    let b = Bus::redis(
        &redis_url(),
        &prefix,
        64,
        LogSettings::default(),
        Interest::Chosen,
    )
    .await
    .unwrap();
    let narrow = b.redis_bus().unwrap();
    assert_eq!(narrow.interest(), Interest::Chosen);
    let wanted = vec![
        narrow.guild_channel(GuildId::new(5)),
        narrow.user_channel(UserId::new(7)),
    ];
    assert!(narrow.want(&wanted).await.unwrap(), "new channels");
    assert!(!narrow.want(&wanted[..1]).await.unwrap(), "already wanted");
    let mut sub = b.subscribe();
    let guild_message = |g: u64| {
        Event::Dispatch(Dispatch {
            name: "MESSAGE_CREATE".into(),
            audience: Audience::Channel(ChannelId::new(100 + g)),
            data: format!(r#"{{"guild_id":"{g}","n":1}}"#).into(),
        })
    };
    let received = [
        dispatch("GUILD_UPDATE", Audience::Guild(GuildId::new(5)), 1),
        guild_message(5),
        dispatch("USER_UPDATE", Audience::Users(vec![UserId::new(7)]), 2),
        dispatch("DM", Audience::Channel(ChannelId::new(9)), 3),
        dispatch(
            "MANY",
            Audience::Users(vec![UserId::new(1), UserId::new(2)]),
            4,
        ),
        Event::TokenRevoked {
            user: UserId::new(8),
            token_id: "t".into(),
        },
    ];
    let skipped = [
        dispatch("GUILD_UPDATE", Audience::Guild(GuildId::new(6)), 5),
        guild_message(6),
        dispatch("USER_UPDATE", Audience::Users(vec![UserId::new(8)]), 6),
        dispatch("X", Audience::Session("elsewhere".into()), 7),
    ];
    for e in skipped.iter().chain(received.iter()) {
        a.publish(e.clone()).await.unwrap();
    }
    for want in &received {
        assert_eq!(&next(&mut sub).await.unwrap(), want);
    }
    // Counted: the first unwant keeps guild 5, the second drops it.
    narrow.unwant(&wanted[..1]).await.unwrap();
    a.publish(guild_message(5)).await.unwrap();
    assert_eq!(next(&mut sub).await.unwrap(), guild_message(5));
    narrow.unwant(&wanted[..1]).await.unwrap();
    a.publish(guild_message(5)).await.unwrap();
    let sentinel = dispatch("LAST", Audience::Users(vec![UserId::new(7)]), 8);
    a.publish(sentinel.clone()).await.unwrap();
    assert_eq!(next(&mut sub).await.unwrap(), sentinel);
}

#[tokio::test]
async fn presences_are_shared_and_announced_once() {
    let prefix = unique_prefix("presence");
    let a = open(&redis_url(), &prefix, 16).await;
    let b = open(&redis_url(), &prefix, 16).await;
    let (a, b) = (a.redis_bus().unwrap(), b.redis_bus().unwrap());
    let online = r#"{"status":"online"}"#.to_owned();
    let idle = r#"{"status":"idle"}"#.to_owned();
    // Two processes hold one session each of user 7.
    let write = |sessions: Vec<(String, String)>, gone: Vec<String>| PresenceWrite {
        user: 7,
        sessions,
        gone,
    };
    a.put_presences(
        &[write(vec![("s1".into(), online.clone())], vec![])],
        60_000,
    )
    .await
    .unwrap();
    b.put_presences(&[write(vec![("s2".into(), idle.clone())], vec![])], 60_000)
        .await
        .unwrap();
    let mut seen = a.presences(&[7, 8]).await.unwrap();
    seen[0].sort();
    assert_eq!(seen, vec![vec![idle.clone(), online.clone()], vec![]]);
    // One session ends: only the other remains, for either process.
    a.put_presences(&[write(vec![], vec!["s1".into()])], 60_000)
        .await
        .unwrap();
    assert_eq!(b.presences(&[7]).await.unwrap(), vec![vec![idle.clone()]]);
    // A change noticed by both processes is announced by the first only.
    assert!(
        a.swap_presence_seen(7, "idle", "off", 60_000)
            .await
            .unwrap()
    );
    assert!(
        !b.swap_presence_seen(7, "idle", "off", 60_000)
            .await
            .unwrap()
    );
    assert!(b.swap_presence_seen(7, "off", "off", 60_000).await.unwrap());
    // No record: the absent value is what was last told.
    assert!(!a.swap_presence_seen(8, "off", "off", 60_000).await.unwrap());
    assert!(
        a.swap_presence_seen(9, "idle", "off", 60_000)
            .await
            .unwrap()
    );
}
