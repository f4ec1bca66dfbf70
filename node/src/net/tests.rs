//! Multi-node tests on real sockets (127.0.0.1, OS-chosen ports). Waits are deadlines on
//! conditions; the only fixed waits are the windows in which something must NOT happen.

use std::time::Duration;

use libp2p::identity::Keypair;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout_at};

use super::*;

const CHAIN: &str = "test-chain";
/// Deadline for anything that should happen.
const WAIT: Duration = Duration::from_secs(10);
/// Window in which something must not happen.
const QUIET: Duration = Duration::from_secs(2);

fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

fn tcp() -> Multiaddr {
    "/ip4/127.0.0.1/tcp/0".parse().unwrap()
}

fn quic() -> Multiaddr {
    "/ip4/127.0.0.1/udp/0/quic-v1".parse().unwrap()
}

struct Spec {
    key: Keypair,
    listen: Vec<Multiaddr>,
    bootstrap: Vec<Multiaddr>,
    registry: Vec<PeerId>,
    validators: Vec<PeerId>,
    observers: Vec<PeerId>,
    limits: NetLimits,
}

impl Spec {
    fn new(key: &Keypair, registry: &[&Keypair]) -> Self {
        Self {
            key: key.clone(),
            listen: vec![tcp()],
            bootstrap: Vec::new(),
            registry: registry.iter().map(|k| id(k)).collect(),
            validators: Vec::new(),
            observers: Vec::new(),
            limits: NetLimits::default(),
        }
    }

    fn bootstrap(mut self, to: &Node) -> Self {
        self.bootstrap.push(to.addr.clone());
        self
    }

    async fn start(self) -> Node {
        let key = self.key.clone();
        let (handle, events) = start(NetConfig {
            chain_id: CHAIN.to_owned(),
            keypair: self.key,
            listen: self.listen,
            bootstrap: self.bootstrap,
            registry: self.registry,
            validators: self.validators,
            observers: self.observers,
            limits: self.limits,
        })
        .await
        .unwrap();
        let peer = handle.local_peer_id();
        let bound = handle.listen_addrs().await;
        let addr = bound
            .first()
            .unwrap()
            .clone()
            .with(libp2p::multiaddr::Protocol::P2p(peer));
        Node {
            handle,
            events,
            key,
            peer,
            addr,
        }
    }
}

struct Node {
    handle: NetHandle,
    events: mpsc::Receiver<NetEvent>,
    key: Keypair,
    peer: PeerId,
    /// First bound address, ending in /p2p/<peer>.
    addr: Multiaddr,
}

fn id(key: &Keypair) -> PeerId {
    key.public().to_peer_id()
}

/// Waits for the first event `pick` accepts, discarding others; panics after [`WAIT`].
async fn next<T>(node: &mut Node, what: &str, mut pick: impl FnMut(NetEvent) -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        match timeout_at(deadline, node.events.recv()).await {
            Ok(Some(event)) => {
                if let Some(found) = pick(event) {
                    return found;
                }
            }
            Ok(None) => panic!("event channel closed while waiting for {what}"),
            Err(_) => panic!("timed out after {WAIT:?} waiting for {what}"),
        }
    }
}

/// Drains events for `window`; panics if `bad` matches one.
async fn never(node: &mut Node, window: Duration, what: &str, bad: impl Fn(&NetEvent) -> bool) {
    let deadline = Instant::now() + window;
    while let Ok(Some(event)) = timeout_at(deadline, node.events.recv()).await {
        assert!(!bad(&event), "{what}: got {event:?}");
    }
}

async fn connected(node: &mut Node, peer: PeerId) {
    next(node, &format!("PeerConnected({peer})"), |e| match e {
        NetEvent::PeerConnected { peer: p } if p == peer => Some(()),
        _ => None,
    })
    .await
}

async fn gossip(node: &mut Node) -> GossipMessage {
    next(node, "a gossip message", |e| match e {
        NetEvent::Gossip(m) => Some(m),
        _ => None,
    })
    .await
}

/// Polls `check` until it holds; panics after [`WAIT`].
async fn eventually<F: std::future::Future<Output = bool>>(
    what: &str,
    mut check: impl FnMut() -> F,
) {
    let deadline = Instant::now() + WAIT;
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "timed out after {WAIT:?} waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// True once `node` sees `peer` connected and subscribed to `topic`.
async fn sees_subscribed(node: &NetHandle, peer: PeerId, topic: Topic) -> bool {
    node.peers()
        .await
        .iter()
        .any(|p| p.peer == peer && p.topics.contains(&topic))
}

/// Publishes, retrying while the remote subscription has not arrived yet.
async fn publish_when_subscribed(node: &NetHandle, topic: Topic, data: &[u8]) {
    let deadline = Instant::now() + WAIT;
    loop {
        match node.publish(topic, data.to_vec()).await {
            Ok(()) => return,
            Err(PublishError::NoSubscribedPeers { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("publish failed: {e}"),
        }
    }
}

/// Answers the next request at `node` with `answer(data)`; `None` drops the responder.
async fn answer_next(node: &mut Node, answer: impl FnOnce(PeerId, Vec<u8>) -> Option<Vec<u8>>) {
    let (peer, data, reply) = next(node, "a request", |e| match e {
        NetEvent::Request { peer, data, reply } => Some((peer, data, reply)),
        _ => None,
    })
    .await;
    assert_eq!(reply.peer(), peer);
    if let Some(response) = answer(peer, data) {
        reply.send(response);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossip_is_forwarded_only_after_accept() {
    init_tracing();
    let (ka, kb, kc) = (
        Keypair::generate_ed25519(),
        Keypair::generate_ed25519(),
        Keypair::generate_ed25519(),
    );
    let all = [&ka, &kb, &kc];
    let limits = NetLimits {
        max_gossip_bytes: 64 * 1024,
        ..NetLimits::default()
    };
    let mut b = Spec {
        limits,
        ..Spec::new(&kb, &all)
    }
    .start()
    .await;
    let mut a = Spec {
        limits,
        ..Spec::new(&ka, &all)
    }
    .bootstrap(&b)
    .start()
    .await;
    let mut c = Spec {
        limits,
        ..Spec::new(&kc, &all)
    }
    .bootstrap(&b)
    .start()
    .await;

    eventually("B sees A and C subscribed, A and C see B", || async {
        sees_subscribed(&b.handle, a.peer, Topic::Events).await
            && sees_subscribed(&b.handle, c.peer, Topic::Events).await
            && sees_subscribed(&a.handle, b.peer, Topic::Events).await
            && sees_subscribed(&c.handle, b.peer, Topic::Events).await
    })
    .await;
    assert!(
        !a.handle.peers().await.iter().any(|p| p.peer == c.peer),
        "A and C are not directly connected"
    );

    // Accepted by B: reaches C through B. A payload of exactly the limit travels.
    let accepted: Vec<u8> = (0..limits.max_gossip_bytes)
        .map(|i| (i % 253) as u8)
        .collect();
    a.handle
        .publish(Topic::Events, accepted.clone())
        .await
        .unwrap();
    let at_b = gossip(&mut b).await;
    assert_eq!((at_b.topic, at_b.source), (Topic::Events, a.peer));
    assert_eq!(at_b.data, accepted);
    b.handle.report(&at_b, Verdict::Accept);
    let at_c = gossip(&mut c).await;
    assert_eq!(
        (at_c.topic, at_c.source, &at_c.id),
        (Topic::Events, b.peer, &at_b.id)
    );
    assert_eq!(at_c.data, accepted);
    c.handle.report(&at_c, Verdict::Accept);

    // The same bytes again: gossipsub knows them.
    assert_eq!(
        a.handle.publish(Topic::Events, accepted).await,
        Err(PublishError::Duplicate {
            topic: Topic::Events
        })
    );

    // Rejected by B: never reaches C.
    a.handle
        .publish(Topic::Events, b"invalid event".to_vec())
        .await
        .unwrap();
    let at_b = gossip(&mut b).await;
    assert_eq!(at_b.data, b"invalid event");
    b.handle.report(&at_b, Verdict::Reject);
    never(
        &mut c,
        QUIET,
        "C must not receive a rejected message",
        |e| matches!(e, NetEvent::Gossip(_)),
    )
    .await;
    never(
        &mut a,
        Duration::ZERO,
        "A never gets its own messages back",
        |e| matches!(e, NetEvent::Gossip(_)),
    )
    .await;

    for node in [a, b, c] {
        node.handle.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unregistered_peer_is_refused() {
    init_tracing();
    let (ka, kr, ku) = (
        Keypair::generate_ed25519(),
        Keypair::generate_ed25519(),
        Keypair::generate_ed25519(),
    );
    let mut a = Spec::new(&ka, &[&ka, &kr]).start().await;
    // U knows A (it would accept A); A does not know U.
    let u = Spec::new(&ku, &[&ka, &ku]).bootstrap(&a).start().await;
    let r = Spec::new(&kr, &[&ka, &kr]).bootstrap(&a).start().await;
    connected(&mut a, r.peer).await;

    let _ = u.handle.publish(Topic::Events, b"spam".to_vec()).await;
    never(
        &mut a,
        QUIET,
        "A must not accept U nor get its gossip",
        |e| match e {
            NetEvent::PeerConnected { peer } => *peer == u.peer,
            NetEvent::Gossip(_) | NetEvent::Request { .. } => true,
            _ => false,
        },
    )
    .await;
    assert!(!a.handle.peers().await.iter().any(|p| p.peer == u.peer));
    assert_eq!(
        u.handle.publish(Topic::Events, b"spam 2".to_vec()).await,
        Err(PublishError::NoSubscribedPeers {
            topic: Topic::Events
        }),
        "U never learns of a subscribed peer"
    );
    assert!(matches!(
        u.handle.request(a.peer, b"hello".to_vec()).await,
        Err(RequestError::NotConnected { .. })
    ));

    for node in [a, u, r] {
        node.handle.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observer_may_request_but_its_gossip_is_never_delivered() {
    init_tracing();
    let (ka, kr, ko) = (
        Keypair::generate_ed25519(),
        Keypair::generate_ed25519(),
        Keypair::generate_ed25519(),
    );
    let mut a = Spec {
        observers: vec![id(&ko)],
        ..Spec::new(&ka, &[&ka, &kr])
    }
    .start()
    .await;
    let mut o = Spec::new(&ko, &[&ka]).bootstrap(&a).start().await;
    let r = Spec::new(&kr, &[&ka, &kr]).bootstrap(&a).start().await;
    connected(&mut a, o.peer).await;

    let (response, ()) = tokio::join!(
        o.handle.request(a.peer, b"give me blocks".to_vec()),
        async {
            answer_next(&mut a, |peer, data| {
                assert_eq!(
                    (peer, data.as_slice()),
                    (o.peer, b"give me blocks".as_slice())
                );
                Some(b"blocks".to_vec())
            })
            .await
        }
    );
    assert_eq!(response.unwrap(), b"blocks");
    let (response, ()) = tokio::join!(a.handle.request(o.peer, b"status?".to_vec()), async {
        answer_next(&mut o, |_, _| Some(b"fine".to_vec())).await
    });
    assert_eq!(response.unwrap(), b"fine", "observers answer requests too");
    let role = a
        .handle
        .peers()
        .await
        .into_iter()
        .find(|p| p.peer == o.peer)
        .map(|p| p.role);
    assert_eq!(role, Some(PeerRole::Observer));

    // The observer's message reaches A (publish succeeds) but is never delivered; a registered
    // peer's message published afterwards is.
    publish_when_subscribed(&o.handle, Topic::Events, b"from the observer").await;
    publish_when_subscribed(&r.handle, Topic::Events, b"from a participant").await;
    let m = gossip(&mut a).await;
    assert_eq!(
        (m.source, m.data.as_slice()),
        (r.peer, b"from a participant".as_slice())
    );
    a.handle.report(&m, Verdict::Accept);
    never(
        &mut a,
        QUIET,
        "the observer's gossip must not be delivered",
        |e| matches!(e, NetEvent::Gossip(_)),
    )
    .await;

    for node in [a, o, r] {
        node.handle.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_and_responses_respect_their_limits() {
    init_tracing();
    let (ka, kb) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());
    let requester_limits = NetLimits {
        max_request_bytes: 1024,
        max_response_bytes: 4096,
        ..NetLimits::default()
    };
    let responder_limits = NetLimits {
        max_request_bytes: 1024,
        max_response_bytes: 64 * 1024,
        ..NetLimits::default()
    };
    let mut b = Spec {
        limits: responder_limits,
        ..Spec::new(&kb, &[&ka, &kb])
    }
    .start()
    .await;
    let a = Spec {
        limits: requester_limits,
        ..Spec::new(&ka, &[&ka, &kb])
    }
    .bootstrap(&b)
    .start()
    .await;
    connected(&mut b, a.peer).await;

    // Both at their limits.
    let (response, ()) = tokio::join!(a.handle.request(b.peer, vec![1; 1024]), async {
        answer_next(&mut b, |_, data| {
            assert_eq!(data, vec![1; 1024]);
            Some(vec![2; 4096])
        })
        .await
    });
    assert_eq!(response.unwrap(), vec![2; 4096]);

    // One byte over the request limit: refused locally.
    let err = a.handle.request(b.peer, vec![0; 1025]).await.unwrap_err();
    assert_eq!(
        err,
        RequestError::RequestTooLarge {
            size: 1025,
            limit: 1024
        }
    );
    assert!(
        err.to_string()
            .contains("max_request_bytes limit of 1024 bytes"),
        "{err}"
    );

    // One byte over the requester's response limit (within the responder's).
    let (response, ()) = tokio::join!(a.handle.request(b.peer, b"big".to_vec()), async {
        answer_next(&mut b, |_, _| Some(vec![3; 4097])).await
    });
    let err = response.unwrap_err();
    assert_eq!(
        err,
        RequestError::ResponseTooLarge {
            peer: b.peer,
            size: 4097,
            limit: 4096
        }
    );
    assert!(
        err.to_string()
            .contains("max_response_bytes limit of 4096 bytes"),
        "{err}"
    );

    // The responder drops the request, or answers over its own limit: the stream closes.
    for answer in [None, Some(vec![4; 64 * 1024 + 1])] {
        let (response, ()) = tokio::join!(a.handle.request(b.peer, b"q".to_vec()), async {
            answer_next(&mut b, |_, _| answer).await
        });
        assert_eq!(response, Err(RequestError::Closed { peer: b.peer }));
    }

    let stranger = id(&Keypair::generate_ed25519());
    assert_eq!(
        a.handle.request(stranger, b"q".to_vec()).await,
        Err(RequestError::NotConnected { peer: stranger })
    );

    a.handle.shutdown().await;
    b.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_only_nodes_gossip_and_request() {
    init_tracing();
    let (ka, kb) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());
    let validators = vec![id(&ka), id(&kb)];
    let mut a = Spec {
        listen: vec![quic()],
        validators: validators.clone(),
        ..Spec::new(&ka, &[&ka, &kb])
    }
    .start()
    .await;
    assert!(a.addr.to_string().contains("/quic-v1/"), "{}", a.addr);
    let mut b = Spec {
        listen: vec![quic()],
        validators,
        ..Spec::new(&kb, &[&ka, &kb])
    }
    .bootstrap(&a)
    .start()
    .await;
    connected(&mut a, b.peer).await;
    let info = a.handle.peers().await;
    assert_eq!(info.len(), 1);
    assert_eq!(info[0].role, PeerRole::Validator);
    assert!(
        info[0].addr.to_string().contains("quic-v1"),
        "{}",
        info[0].addr
    );

    publish_when_subscribed(&a.handle, Topic::Consensus, b"vote").await;
    let m = gossip(&mut b).await;
    assert_eq!(
        (m.topic, m.source, m.data.as_slice()),
        (Topic::Consensus, a.peer, b"vote".as_slice())
    );
    b.handle.report(&m, Verdict::Accept);

    let (response, ()) = tokio::join!(b.handle.request(a.peer, b"block 7?".to_vec()), async {
        answer_next(&mut a, |_, _| Some(b"block 7".to_vec())).await
    });
    assert_eq!(response.unwrap(), b"block 7");

    a.handle.shutdown().await;
    b.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_bootstrap_peer_is_redialled() {
    init_tracing();
    let (ka, kb) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());
    let b = Spec::new(&kb, &[&ka, &kb]).start().await;
    let b_addr = b.addr.clone();
    let mut a = Spec::new(&ka, &[&ka, &kb]).bootstrap(&b).start().await;
    connected(&mut a, b.peer).await;

    let (b_key, b_peer) = (b.key.clone(), b.peer);
    b.handle.shutdown().await;
    next(&mut a, "PeerDisconnected(B)", |e| match e {
        NetEvent::PeerDisconnected { peer } if peer == b_peer => Some(()),
        _ => None,
    })
    .await;

    // Same key, same port: a new process as far as A can tell.
    let mut listen = b_addr;
    listen.pop();
    let b = Spec {
        listen: vec![listen],
        ..Spec::new(&b_key, &[&ka, &kb])
    }
    .start()
    .await;
    connected(&mut a, b_peer).await;

    a.handle.shutdown().await;
    b.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_without_subscribers_or_over_the_limit_fails() {
    init_tracing();
    let ka = Keypair::generate_ed25519();
    let a = Spec {
        limits: NetLimits {
            max_gossip_bytes: 1000,
            ..NetLimits::default()
        },
        ..Spec::new(&ka, &[&ka])
    }
    .start()
    .await;
    for topic in Topic::ALL {
        let err = a
            .handle
            .publish(topic, b"event".to_vec())
            .await
            .unwrap_err();
        assert_eq!(err, PublishError::NoSubscribedPeers { topic });
        assert_eq!(
            err.to_string(),
            format!("no connected peer is subscribed to the {topic} topic")
        );
    }
    assert_eq!(
        a.handle.publish(Topic::Events, vec![0; 1001]).await,
        Err(PublishError::TooLarge {
            size: 1001,
            limit: 1000
        })
    );
    assert_eq!(
        a.handle.publish(Topic::Events, vec![0; 1000]).await,
        Err(PublishError::NoSubscribedPeers {
            topic: Topic::Events
        }),
        "exactly the limit is not too large"
    );

    // Once the task has stopped, every clone of the handle says so.
    let clone = a.handle.clone();
    a.handle.shutdown().await;
    assert_eq!(
        clone.publish(Topic::Events, b"late".to_vec()).await,
        Err(PublishError::Stopped)
    );
    assert_eq!(
        clone.request(clone.local_peer_id(), b"late".to_vec()).await,
        Err(RequestError::Stopped)
    );
    assert!(clone.peers().await.is_empty());
    assert!(clone.listen_addrs().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_are_refused() {
    init_tracing();
    let (ka, kb, kc) = (
        Keypair::generate_ed25519(),
        Keypair::generate_ed25519(),
        Keypair::generate_ed25519(),
    );
    let all = [&ka, &kb, &kc];
    let mut a = Spec {
        limits: NetLimits {
            max_connections: 1,
            ..NetLimits::default()
        },
        ..Spec::new(&ka, &all)
    }
    .start()
    .await;
    let b = Spec::new(&kb, &all).bootstrap(&a).start().await;
    connected(&mut a, b.peer).await;
    let c = Spec::new(&kc, &all).bootstrap(&a).start().await;
    never(
        &mut a,
        QUIET,
        "A is at its connection limit",
        |e| matches!(e, NetEvent::PeerConnected { peer } if *peer == c.peer),
    )
    .await;
    assert_eq!(a.handle.peers().await.len(), 1);

    for node in [a, b, c] {
        node.handle.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_rejects_bad_configuration_naming_the_culprit() {
    init_tracing();
    let config = |listen: Vec<Multiaddr>, bootstrap: Vec<Multiaddr>| NetConfig {
        chain_id: CHAIN.to_owned(),
        keypair: Keypair::generate_ed25519(),
        listen,
        bootstrap,
        registry: Vec::new(),
        validators: Vec::new(),
        observers: Vec::new(),
        limits: NetLimits::default(),
    };
    let no_peer: Multiaddr = "/ip4/127.0.0.1/tcp/4001".parse().unwrap();
    let err = start(config(vec![tcp()], vec![no_peer])).await.unwrap_err();
    assert!(
        matches!(err, NetError::BootstrapWithoutPeerId { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("/ip4/127.0.0.1/tcp/4001"), "{err}");

    let unsupported: Multiaddr = "/ip4/127.0.0.1/udp/0".parse().unwrap();
    let err = start(config(vec![unsupported], Vec::new()))
        .await
        .unwrap_err();
    assert!(matches!(err, NetError::Listen { .. }), "{err}");
    assert!(err.to_string().contains("/ip4/127.0.0.1/udp/0"), "{err}");

    let mut bad = config(vec![tcp()], Vec::new());
    bad.limits.max_request_bytes = 0;
    let err = start(bad).await.unwrap_err();
    assert!(err.to_string().contains("max_request_bytes"), "{err}");

    let mut bad = config(vec![tcp()], Vec::new());
    bad.chain_id = "a/b".to_owned();
    assert!(matches!(
        start(bad).await.unwrap_err(),
        NetError::InvalidChainId { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_whose_messages_are_all_rejected_is_disconnected_and_kept_out() {
    init_tracing();
    let (ka, kx) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());
    let mut a = Spec::new(&ka, &[&ka, &kx]).start().await;
    let x = Spec::new(&kx, &[&ka, &kx]).bootstrap(&a).start().await;
    connected(&mut a, x.peer).await;
    // Three invalid messages, each rejected by A's driver: enough to graylist X (see
    // behaviour::INVALID_MESSAGE_WEIGHT), so A cuts it off without any further message.
    publish_when_subscribed(&x.handle, Topic::Events, b"bad 0").await;
    for i in 1..3 {
        x.handle
            .publish(Topic::Events, format!("bad {i}").into_bytes())
            .await
            .unwrap();
    }
    for _ in 0..3 {
        let m = gossip(&mut a).await;
        assert_eq!(m.source, x.peer);
        a.handle.report(&m, Verdict::Reject);
    }
    next(
        &mut a,
        "PeerDisconnected(X) after three rejected messages",
        |e| match e {
            NetEvent::PeerDisconnected { peer } if peer == x.peer => Some(()),
            NetEvent::Gossip(m) => panic!("unexpected gossip {m:?}"),
            _ => None,
        },
    )
    .await;

    // X keeps redialling (it bootstraps to A) but is refused during the cool-down.
    never(
        &mut a,
        QUIET,
        "X must stay disconnected during its cool-down",
        |e| matches!(e, NetEvent::PeerConnected { peer } if *peer == x.peer),
    )
    .await;
    assert!(!a.handle.peers().await.iter().any(|p| p.peer == x.peer));

    a.handle.shutdown().await;
    x.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_peer_from_the_registry_disconnects_it() {
    init_tracing();
    let (ka, kb) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());
    let mut a = Spec::new(&ka, &[&ka, &kb]).start().await;
    let b = Spec::new(&kb, &[&ka, &kb]).bootstrap(&a).start().await;
    connected(&mut a, b.peer).await;

    a.handle.set_registry(vec![a.peer], vec![a.peer]).await;
    next(&mut a, "PeerDisconnected(B)", |e| match e {
        NetEvent::PeerDisconnected { peer } if peer == b.peer => Some(()),
        _ => None,
    })
    .await;

    a.handle
        .set_registry(vec![a.peer, b.peer], vec![a.peer, b.peer])
        .await;
    connected(&mut a, b.peer).await;
    let info = a.handle.peers().await;
    assert_eq!(
        info.iter().map(|p| (p.peer, p.role)).collect::<Vec<_>>(),
        [(b.peer, PeerRole::Validator)]
    );

    a.handle.shutdown().await;
    b.handle.shutdown().await;
}

#[test]
fn node_keys_map_to_libp2p_identities() {
    use provenance_protocol::crypto::SigningKey;
    for seed in [[0u8; 32], [7; 32], [255; 32]] {
        let key = SigningKey::from_seed(seed);
        let keypair = keypair_from(&key);
        assert_eq!(keypair.public().to_peer_id(), peer_id_of(&key.public_key()));
    }
    let (a, b) = (
        SigningKey::from_seed([1; 32]),
        SigningKey::from_seed([2; 32]),
    );
    assert_ne!(peer_id_of(&a.public_key()), peer_id_of(&b.public_key()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_that_stops_reading_never_blocks_the_network() {
    init_tracing();
    let (ka, kb) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());
    let mut a = Spec::new(&ka, &[&ka, &kb]).start().await;
    // B gives up on a request after 1 s: a request queued at A (not refused) times out.
    let b = Spec {
        limits: NetLimits {
            request_timeout: Duration::from_secs(1),
            ..NetLimits::default()
        },
        ..Spec::new(&kb, &[&ka, &kb])
    }
    .bootstrap(&a)
    .start()
    .await;
    connected(&mut a, b.peer).await;

    // A's driver reads nothing while B publishes more than the event channel holds.
    let published = EVENT_CAPACITY + 100;
    publish_when_subscribed(&b.handle, Topic::Events, b"event 0").await;
    for i in 1..published {
        b.handle
            .publish(Topic::Events, format!("event {i}").into_bytes())
            .await
            .unwrap();
    }
    // Once the channel is full, a request is closed at once rather than left waiting.
    eventually(
        "a request to A is refused because its driver is not reading",
        || async {
            matches!(
                b.handle.request(a.peer, b"q".to_vec()).await,
                Err(RequestError::Closed { .. })
            )
        },
    )
    .await;

    // The task kept running: once the driver reads again, new gossip gets through, and
    // what did not fit was dropped rather than queued without bound.
    b.handle
        .publish(Topic::Events, b"after the backlog".to_vec())
        .await
        .unwrap();
    let mut delivered = 0;
    loop {
        let m = gossip(&mut a).await;
        if m.data == b"after the backlog" {
            break;
        }
        delivered += 1;
    }
    assert!(
        delivered >= EVENT_CAPACITY - 1,
        "the channel filled up: {delivered}"
    );
    assert!(delivered < published, "some gossip was dropped");

    a.handle.shutdown().await;
    b.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossip_over_the_receivers_limit_is_not_delivered() {
    init_tracing();
    let (ka, kb) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());
    let limit = |max_gossip_bytes| NetLimits {
        max_gossip_bytes,
        ..NetLimits::default()
    };
    let mut a = Spec {
        limits: limit(1000),
        ..Spec::new(&ka, &[&ka, &kb])
    }
    .start()
    .await;
    let b = Spec {
        limits: limit(2000),
        ..Spec::new(&kb, &[&ka, &kb])
    }
    .bootstrap(&a)
    .start()
    .await;
    connected(&mut a, b.peer).await;

    // Same stream, in order: the oversized message is dropped, the next one delivered.
    publish_when_subscribed(&b.handle, Topic::Events, &[1; 1001]).await;
    b.handle
        .publish(Topic::Events, vec![2; 1000])
        .await
        .unwrap();
    let m = gossip(&mut a).await;
    assert_eq!(m.data, vec![2; 1000]);

    a.handle.shutdown().await;
    b.handle.shutdown().await;
}
