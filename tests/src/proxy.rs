//! A userspace TCP proxy for fault injection between two nodes.
//!
//! The test machines have no `netem` and the tests must not need root, so every node-to-node link
//! of a [`TestNet`](crate::testnet::TestNet) runs through one [`LinkProxy`]: node *i* dials node
//! *j* at the proxy's address, and the proxy forwards bytes to *j*'s real listener. Cutting the
//! link is then a userspace decision: [`LinkProxy::set_blocked`] closes every connection through
//! the proxy at once and refuses new ones, which the nodes see exactly as a network partition
//! that resets connections (EOF on the socket, redial fails). [`LinkProxy::set_delay`] adds
//! latency to every forwarded chunk.
//!
//! ## Shape
//!
//! One accept thread per proxy. Each forwarded connection has, per direction, a reader thread and
//! a writer thread joined by a bounded queue of [`PIPE_QUEUE_CHUNKS`] chunks: the reader stamps
//! each chunk with the time it is due, the writer waits for that time. So a delay is latency, not
//! a throughput cap, and a slow receiver back-pressures the sender instead of growing memory.
//! Threads rather than an async runtime: a test network has a few dozen connections, and plain
//! blocking sockets make "close everything now" a simple `shutdown` on each of them.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Largest chunk read from one side before it is forwarded.
pub const CHUNK_BYTES: usize = 16 * 1024;
/// Chunks queued per direction between a connection's reader and writer (at most
/// `CHUNK_BYTES * PIPE_QUEUE_CHUNKS` bytes in flight per direction).
pub const PIPE_QUEUE_CHUNKS: usize = 64;
/// How long the proxy waits to reach its target before giving up on a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Counters of one proxy since it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProxyStats {
    /// Connections forwarded to the target.
    pub connections_forwarded: u64,
    /// Connections accepted and closed at once because the link was blocked.
    pub connections_refused: u64,
    /// Connections closed because the target could not be reached (e.g. the node is down).
    pub upstream_failures: u64,
    /// Connections currently open through the proxy.
    pub open_connections: usize,
    /// Bytes forwarded from the dialer to the target.
    pub bytes_to_target: u64,
    /// Bytes forwarded from the target back to the dialer.
    pub bytes_from_target: u64,
}

/// A TCP proxy on `127.0.0.1:<ephemeral>` forwarding to one target, with a kill switch.
///
/// Dropping it stops accepting and closes every open connection.
#[derive(Debug)]
pub struct LinkProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept_thread: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    target: Mutex<SocketAddr>,
    state: Mutex<LinkState>,
    delay_micros: AtomicU64,
    stopping: AtomicBool,
    connections_forwarded: AtomicU64,
    connections_refused: AtomicU64,
    upstream_failures: AtomicU64,
    bytes_to_target: AtomicU64,
    bytes_from_target: AtomicU64,
}

/// What `set_blocked` must change atomically: the flag and the set of connections it closes. A
/// connection registers under the same lock, so none can slip through between the two.
#[derive(Debug, Default)]
struct LinkState {
    blocked: bool,
    next_id: u64,
    /// Clones of both sockets of every open connection, only to shut them down.
    open: HashMap<u64, (TcpStream, TcpStream)>,
}

/// A poisoned lock only means another proxy thread panicked; the data is still consistent
/// (every critical section is a few field updates), so keep going.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl LinkProxy {
    /// Starts a proxy to `target` on a free loopback port.
    ///
    /// # Panics
    /// If no loopback port can be bound (see [`LinkProxy::try_start`]).
    pub fn start(target: SocketAddr) -> LinkProxy {
        LinkProxy::try_start(target)
            .unwrap_or_else(|e| panic!("cannot start a link proxy to {target}: {e}"))
    }

    /// Starts a proxy to `target` on a free loopback port.
    pub fn try_start(target: SocketAddr) -> io::Result<LinkProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            target: Mutex::new(target),
            state: Mutex::new(LinkState::default()),
            delay_micros: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
            connections_forwarded: AtomicU64::new(0),
            connections_refused: AtomicU64::new(0),
            upstream_failures: AtomicU64::new(0),
            bytes_to_target: AtomicU64::new(0),
            bytes_from_target: AtomicU64::new(0),
        });
        let accept_shared = Arc::clone(&shared);
        let accept_thread = thread::Builder::new()
            .name(format!("proxy-accept-{addr}"))
            .spawn(move || accept_loop(&listener, &accept_shared))?;
        Ok(LinkProxy {
            addr,
            shared,
            accept_thread: Some(accept_thread),
        })
    }

    /// The address dialers connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where connections are forwarded to.
    pub fn target(&self) -> SocketAddr {
        *lock(&self.shared.target)
    }

    /// Forwards new connections to `target` from now on (open ones keep their target). Used when
    /// a node restarts on another port.
    pub fn set_target(&self, target: SocketAddr) {
        *lock(&self.shared.target) = target;
    }

    /// Blocks or unblocks the link. Blocking closes every open connection through the proxy now
    /// (both sides see EOF) and makes the proxy accept and immediately close new connections,
    /// until it is unblocked.
    pub fn set_blocked(&self, blocked: bool) {
        let mut state = lock(&self.shared.state);
        state.blocked = blocked;
        if blocked {
            for (_, (client, upstream)) in state.open.drain() {
                let _ = client.shutdown(Shutdown::Both);
                let _ = upstream.shutdown(Shutdown::Both);
            }
        }
    }

    /// Whether the link is blocked.
    pub fn is_blocked(&self) -> bool {
        lock(&self.shared.state).blocked
    }

    /// Delays every chunk read from now on by `delay` before it is forwarded, in both directions
    /// (a round trip through the proxy takes at least `2 * delay`). Zero turns the delay off.
    pub fn set_delay(&self, delay: Duration) {
        let micros = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
        self.shared.delay_micros.store(micros, Ordering::Relaxed);
    }

    /// The counters so far.
    pub fn stats(&self) -> ProxyStats {
        let s = &self.shared;
        ProxyStats {
            connections_forwarded: s.connections_forwarded.load(Ordering::Relaxed),
            connections_refused: s.connections_refused.load(Ordering::Relaxed),
            upstream_failures: s.upstream_failures.load(Ordering::Relaxed),
            open_connections: lock(&s.state).open.len(),
            bytes_to_target: s.bytes_to_target.load(Ordering::Relaxed),
            bytes_from_target: s.bytes_from_target.load(Ordering::Relaxed),
        }
    }
}

impl Drop for LinkProxy {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the blocking accept with a connection of our own; it sees `stopping` and returns.
        let _ = TcpStream::connect_timeout(&self.addr, CONNECT_TIMEOUT);
        if let Some(handle) = self.accept_thread.take() {
            let _ = handle.join();
        }
        let mut state = lock(&self.shared.state);
        for (_, (client, upstream)) in state.open.drain() {
            let _ = client.shutdown(Shutdown::Both);
            let _ = upstream.shutdown(Shutdown::Both);
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for incoming in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let client = match incoming {
            Ok(client) => client,
            // Out of file descriptors or an aborted handshake: back off instead of spinning.
            Err(_) => {
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        if lock(&shared.state).blocked {
            refuse(shared, &client);
            continue;
        }
        let shared = Arc::clone(shared);
        // Connecting to the target can take up to CONNECT_TIMEOUT: do it off the accept thread.
        let spawned = thread::Builder::new()
            .name("proxy-conn".into())
            .spawn(move || serve(&shared, client));
        if spawned.is_err() {
            thread::sleep(Duration::from_millis(10));
        }
    }
}

fn refuse(shared: &Shared, client: &TcpStream) {
    shared.connections_refused.fetch_add(1, Ordering::Relaxed);
    let _ = client.shutdown(Shutdown::Both);
}

/// Both sockets of one forwarded connection. The last of its four threads to finish drops it,
/// which unregisters it from the proxy.
#[derive(Debug)]
struct Connection {
    id: u64,
    shared: Arc<Shared>,
    client: TcpStream,
    upstream: TcpStream,
}

impl Connection {
    /// Tears the whole connection down (an error on either side ends both directions).
    fn kill(&self) {
        let _ = self.client.shutdown(Shutdown::Both);
        let _ = self.upstream.shutdown(Shutdown::Both);
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.kill();
        lock(&self.shared.state).open.remove(&self.id);
    }
}

/// Which way bytes flow, for the counters.
#[derive(Debug, Clone, Copy)]
enum Direction {
    ToTarget,
    FromTarget,
}

fn serve(shared: &Arc<Shared>, client: TcpStream) {
    let target = *lock(&shared.target);
    let Ok(upstream) = TcpStream::connect_timeout(&target, CONNECT_TIMEOUT) else {
        shared.upstream_failures.fetch_add(1, Ordering::Relaxed);
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    // Consensus messages are small and latency-bound: do not let Nagle hold them back.
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let registered = (|| -> io::Result<Option<Arc<Connection>>> {
        let clones = (client.try_clone()?, upstream.try_clone()?);
        let mut state = lock(&shared.state);
        if state.blocked {
            return Ok(None);
        }
        let id = state.next_id;
        state.next_id += 1;
        state.open.insert(id, clones);
        Ok(Some(Arc::new(Connection {
            id,
            shared: Arc::clone(shared),
            client: client.try_clone()?,
            upstream: upstream.try_clone()?,
        })))
    })();
    let connection = match registered {
        Ok(Some(connection)) => connection,
        // Blocked while we were connecting to the target.
        Ok(None) => {
            refuse(shared, &client);
            let _ = upstream.shutdown(Shutdown::Both);
            return;
        }
        Err(_) => {
            shared.upstream_failures.fetch_add(1, Ordering::Relaxed);
            let _ = client.shutdown(Shutdown::Both);
            let _ = upstream.shutdown(Shutdown::Both);
            return;
        }
    };
    shared.connections_forwarded.fetch_add(1, Ordering::Relaxed);
    let forward_connection = Arc::clone(&connection);
    let forward = thread::Builder::new()
        .name("proxy-to-target".into())
        .spawn(move || pipe(client, &forward_connection, Direction::ToTarget));
    if forward.is_err() {
        connection.kill();
        return;
    }
    pipe(upstream, &connection, Direction::FromTarget);
}

/// A chunk and the instant it may be written.
type Chunk = (Instant, Vec<u8>);

/// Copies `from` to the other side of `connection` until EOF or an error: reads here, writes on a
/// writer thread so the configured delay is latency rather than a pause of the reader.
fn pipe(mut from: TcpStream, connection: &Arc<Connection>, direction: Direction) {
    let (sender, receiver) = sync_channel::<Chunk>(PIPE_QUEUE_CHUNKS);
    let writer_connection = Arc::clone(connection);
    let writer = thread::Builder::new()
        .name("proxy-writer".into())
        .spawn(move || write_chunks(&receiver, &writer_connection, direction));
    if writer.is_err() {
        connection.kill();
        return;
    }
    read_chunks(&mut from, &sender, connection);
}

fn read_chunks(from: &mut TcpStream, sender: &SyncSender<Chunk>, connection: &Connection) {
    let mut buffer = vec![0u8; CHUNK_BYTES];
    loop {
        match from.read(&mut buffer) {
            // EOF: dropping the sender lets the writer flush what is queued and pass the EOF on.
            Ok(0) => return,
            Ok(n) => {
                let delay = connection.shared.delay_micros.load(Ordering::Relaxed);
                let due = Instant::now() + Duration::from_micros(delay);
                if sender.send((due, buffer[..n].to_vec())).is_err() {
                    // The writer failed and already tore the connection down.
                    return;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                connection.kill();
                return;
            }
        }
    }
}

fn write_chunks(receiver: &Receiver<Chunk>, connection: &Connection, direction: Direction) {
    let (mut to, counter) = match direction {
        Direction::ToTarget => (&connection.upstream, &connection.shared.bytes_to_target),
        Direction::FromTarget => (&connection.client, &connection.shared.bytes_from_target),
    };
    for (due, chunk) in receiver {
        let now = Instant::now();
        if due > now {
            thread::sleep(due - now);
        }
        if lock(&connection.shared.state).blocked || to.write_all(&chunk).is_err() {
            connection.kill();
            return;
        }
        counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
    }
    // The reader saw EOF: pass the half-close on, keep the other direction open.
    let _ = to.shutdown(Shutdown::Write);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo server: echoes each connection until EOF, then closes it.
    fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                thread::spawn(move || {
                    let mut buffer = [0u8; 4096];
                    loop {
                        match stream.read(&mut buffer) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => {
                                if stream.write_all(&buffer[..n]).is_err() {
                                    return;
                                }
                            }
                        }
                    }
                });
            }
        });
        addr
    }

    fn connect(proxy: &LinkProxy) -> TcpStream {
        let stream = TcpStream::connect(proxy.addr()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
    }

    fn round_trip(stream: &mut TcpStream, message: &[u8]) -> Vec<u8> {
        stream.write_all(message).unwrap();
        let mut answer = vec![0u8; message.len()];
        stream.read_exact(&mut answer).unwrap();
        answer
    }

    /// Whether the stream is closed: a read returns EOF or a reset, not a timeout.
    fn is_closed(stream: &mut TcpStream) -> bool {
        let mut byte = [0u8; 1];
        match stream.read(&mut byte) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => !matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
        }
    }

    fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !condition() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn bytes_pass_through_both_ways_and_are_counted() {
        let proxy = LinkProxy::start(echo_server());
        let mut stream = connect(&proxy);
        assert_eq!(round_trip(&mut stream, b"hello"), b"hello");
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut reader = stream.try_clone().unwrap();
        let expected = big.clone();
        let echoed = thread::spawn(move || {
            let mut answer = vec![0u8; expected.len()];
            reader.read_exact(&mut answer).unwrap();
            answer == expected
        });
        stream.write_all(&big).unwrap();
        assert!(echoed.join().unwrap(), "large payload corrupted");
        eventually("the counters", || {
            let stats = proxy.stats();
            stats.bytes_to_target == 200_005 && stats.bytes_from_target == 200_005
        });
        let stats = proxy.stats();
        assert_eq!(stats.connections_forwarded, 1);
        assert_eq!(stats.open_connections, 1);
        assert_eq!(stats.connections_refused, 0);
    }

    #[test]
    fn a_half_close_is_passed_on_and_the_connection_is_released() {
        let proxy = LinkProxy::start(echo_server());
        let mut stream = connect(&proxy);
        stream.write_all(b"last words").unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        assert_eq!(answer, b"last words");
        eventually("the connection to be released", || {
            proxy.stats().open_connections == 0
        });
    }

    #[test]
    fn blocking_kills_open_connections_refuses_new_ones_and_unblocking_restores() {
        let proxy = LinkProxy::start(echo_server());
        let mut before = connect(&proxy);
        assert_eq!(round_trip(&mut before, b"ping"), b"ping");

        proxy.set_blocked(true);
        assert!(proxy.is_blocked());
        assert!(is_closed(&mut before), "open connection survived the block");
        assert_eq!(proxy.stats().open_connections, 0);

        let mut during = connect(&proxy);
        let _ = during.write_all(b"anyone?");
        assert!(is_closed(&mut during), "new connection was not refused");
        eventually("the refusal to be counted", || {
            proxy.stats().connections_refused >= 1
        });
        assert_eq!(proxy.stats().connections_forwarded, 1);

        proxy.set_blocked(false);
        let mut after = connect(&proxy);
        assert_eq!(round_trip(&mut after, b"back"), b"back");
        assert_eq!(proxy.stats().connections_forwarded, 2);
    }

    #[test]
    fn delay_holds_every_chunk_back() {
        let proxy = LinkProxy::start(echo_server());
        let mut stream = connect(&proxy);
        assert_eq!(round_trip(&mut stream, b"warm"), b"warm");
        proxy.set_delay(Duration::from_millis(150));
        let started = Instant::now();
        assert_eq!(round_trip(&mut stream, b"slow"), b"slow");
        // Delayed on the way there and on the way back.
        assert!(started.elapsed() >= Duration::from_millis(300));
        proxy.set_delay(Duration::ZERO);
        assert_eq!(round_trip(&mut stream, b"fast"), b"fast");
    }

    #[test]
    fn an_unreachable_target_closes_the_dialer_and_retargeting_recovers() {
        let unused = TcpListener::bind("127.0.0.1:0").unwrap();
        let dead = unused.local_addr().unwrap();
        drop(unused);
        let proxy = LinkProxy::start(dead);
        let mut stream = connect(&proxy);
        assert!(is_closed(&mut stream));
        eventually("the failure to be counted", || {
            proxy.stats().upstream_failures == 1
        });

        let echo = echo_server();
        proxy.set_target(echo);
        assert_eq!(proxy.target(), echo);
        let mut stream = connect(&proxy);
        assert_eq!(round_trip(&mut stream, b"found"), b"found");
    }

    #[test]
    fn dropping_the_proxy_closes_its_connections() {
        let proxy = LinkProxy::start(echo_server());
        let mut stream = connect(&proxy);
        assert_eq!(round_trip(&mut stream, b"bye"), b"bye");
        drop(proxy);
        assert!(is_closed(&mut stream));
    }
}
