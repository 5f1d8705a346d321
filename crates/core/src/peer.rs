//! Who is on the other end of a loopback TCP connection.
//!
//! Every local user can connect to a loopback port, so a listener that takes a sign-in's callback
//! (or hands out its authorization URL) must know the peer is the person signing in. On Linux the
//! kernel knows who owns the peer's socket: it is asked through sock_diag (netlink) for the exact
//! 4-tuple, or, where netlink is refused, `/proc/net/tcp` and `tcp6` are read. Either way only an
//! ESTABLISHED socket counts, and a connection that cannot be found is refused (fail closed).
//!
//! macOS and Windows have no such lookup here: there a listener accepts any local peer, which the
//! README states as a residual risk.

use std::net::{IpAddr, SocketAddr};

/// What the lookup found about a connection's peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// The peer's socket belongs to this user.
    Me,
    /// It belongs to another user (their uid).
    Other(u32),
    /// No established socket matches (already closed, not loopback) or the lookup failed.
    Unknown(String),
    /// This OS offers no lookup: accepted, with the residual risk the README states.
    Unsupported,
}

impl Peer {
    /// Whether a listener may serve this peer.
    pub fn allowed(&self) -> bool {
        matches!(self, Peer::Me | Peer::Unsupported)
    }

    /// For the audit log: who was refused, without anything the peer sent.
    pub fn describe(&self) -> String {
        match self {
            Peer::Me => "this user".into(),
            Peer::Other(uid) => format!("uid {uid}"),
            Peer::Unknown(why) => format!("an unknown owner ({why})"),
            Peer::Unsupported => "an unchecked peer".into(),
        }
    }
}

/// Who owns the other end of the connection whose local end is `local` and whose peer is
/// `remote` (both as the accepted socket sees them). Decided before anything is read from it.
pub fn of_connection(local: SocketAddr, remote: SocketAddr) -> Peer {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        match linux::owner(canonical(local), canonical(remote)) {
            Ok(uid) if uid == me => Peer::Me,
            Ok(uid) => Peer::Other(uid),
            Err(why) => Peer::Unknown(why),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (local, remote);
        Peer::Unsupported
    }
}

/// A v4-mapped IPv6 address (`::ffff:127.0.0.1`) as the IPv4 address it is.
fn canonical(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(a.ip().to_canonical(), a.port())
}

#[cfg(target_os = "linux")]
pub(crate) mod linux {
    use super::*;
    use std::io;

    /// The uid owning the established socket whose own address is `remote` and whose peer is
    /// `local`: the other end of our accepted connection.
    pub(crate) fn owner(local: SocketAddr, remote: SocketAddr) -> Result<u32, String> {
        match diag::owner(local, remote) {
            Ok(Some(uid)) => Ok(uid),
            Ok(None) => Err("no established connection with that address pair".into()),
            Err(e) => {
                tracing::debug!(error = %e, "sock_diag refused; reading /proc/net/tcp instead");
                proc_net::owner(local, remote)
                    .map_err(|e| format!("cannot read the socket tables: {e}"))?
                    .ok_or_else(|| "no established connection with that address pair".into())
            }
        }
    }

    /// The kernel's socket diagnostics over netlink: one exact lookup, no table walk.
    pub(crate) mod diag {
        use super::*;
        use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_REQUEST};
        use netlink_packet_sock_diag::constants::{
            AF_INET, AF_INET6, IPPROTO_TCP, TCP_ESTABLISHED,
        };
        use netlink_packet_sock_diag::inet::{ExtensionFlags, InetRequest, SocketId, StateFlags};
        use netlink_packet_sock_diag::SockDiagMessage;
        use netlink_sys::{protocols::NETLINK_SOCK_DIAG, Socket, SocketAddr as NlAddr};
        use std::os::fd::AsRawFd;

        pub(crate) fn owner(local: SocketAddr, remote: SocketAddr) -> io::Result<Option<u32>> {
            let mut socket = Socket::new(NETLINK_SOCK_DIAG)?;
            socket.bind_auto()?;
            socket.connect(&NlAddr::new(0, 0))?;
            // The kernel answers at once; the timeout only guards against a kernel that never does.
            let timeout = libc::timeval {
                tv_sec: 1,
                tv_usec: 0,
            };
            // SAFETY: a valid socket, option and option length.
            let rc = unsafe {
                libc::setsockopt(
                    socket.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_RCVTIMEO,
                    (&timeout as *const libc::timeval).cast(),
                    std::mem::size_of::<libc::timeval>() as libc::socklen_t,
                )
            };
            if rc != 0 {
                return Err(io::Error::last_os_error());
            }
            let family = match remote.ip() {
                IpAddr::V4(_) => AF_INET,
                IpAddr::V6(_) => AF_INET6,
            };
            // The peer's socket: its source is the peer's address, its destination is ours.
            let mut id = if family == AF_INET {
                SocketId::new_v4()
            } else {
                SocketId::new_v6()
            };
            id.source_address = remote.ip();
            id.source_port = remote.port();
            id.destination_address = local.ip();
            id.destination_port = local.port();
            id.cookie = [0xff; 8]; // INET_DIAG_NOCOOKIE: match by address alone
            let mut header = NetlinkHeader::default();
            header.flags = NLM_F_REQUEST; // no NLM_F_DUMP: the exact socket, or ENOENT
            let mut packet = NetlinkMessage::new(
                header,
                SockDiagMessage::InetRequest(InetRequest {
                    family,
                    protocol: IPPROTO_TCP,
                    extensions: ExtensionFlags::empty(),
                    states: StateFlags::ESTABLISHED,
                    socket_id: id,
                })
                .into(),
            );
            packet.finalize();
            let mut out = vec![0; packet.buffer_len()];
            packet.serialize(&mut out);
            socket.send(&out, 0)?;

            let mut buf = vec![0u8; 8192];
            let n = socket.recv(&mut &mut buf[..], 0)?;
            let mut at = 0;
            while at < n {
                let message = NetlinkMessage::<SockDiagMessage>::deserialize(&buf[at..n])
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                match message.payload {
                    NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(r)) => {
                        let h = &r.header;
                        let id = &h.socket_id;
                        // Never trust a near match: the exact pair, established, or nothing.
                        let exact = h.state == TCP_ESTABLISHED
                            && id.source_address.to_canonical() == remote.ip()
                            && id.source_port == remote.port()
                            && id.destination_address.to_canonical() == local.ip()
                            && id.destination_port == local.port();
                        return Ok(exact.then_some(h.uid));
                    }
                    NetlinkPayload::Error(e) => match e.code {
                        Some(c) if -c.get() == libc::ENOENT => return Ok(None),
                        Some(_) => return Err(e.to_io()),
                        None => {}
                    },
                    NetlinkPayload::Done(_) => return Ok(None),
                    _ => {}
                }
                let len = message.header.length as usize;
                if len == 0 {
                    break;
                }
                at += len;
            }
            Ok(None)
        }
    }

    /// `/proc/net/tcp` and `tcp6`: the same facts as text, for where netlink is not allowed.
    pub(crate) mod proc_net {
        use super::*;
        use std::net::{Ipv4Addr, Ipv6Addr};

        /// `st` of an established socket in the tables.
        const ESTABLISHED: &str = "01";

        pub(crate) fn owner(local: SocketAddr, remote: SocketAddr) -> io::Result<Option<u32>> {
            for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
                let text = match std::fs::read_to_string(table) {
                    Ok(t) => t,
                    // No IPv6 in this kernel: no tcp6 table.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                };
                if let Some(uid) = find(&text, local, remote) {
                    return Ok(Some(uid));
                }
            }
            Ok(None)
        }

        /// The uid of the established row whose local address is `remote` and whose remote
        /// address is `local` (v4-mapped rows of `tcp6` included).
        pub(crate) fn find(table: &str, local: SocketAddr, remote: SocketAddr) -> Option<u32> {
            table.lines().skip(1).find_map(|line| {
                let f: Vec<&str> = line.split_whitespace().collect();
                let (own, peer, state, uid) = (f.get(1)?, f.get(2)?, f.get(3)?, f.get(7)?);
                (*state == ESTABLISHED && address(own)? == remote && address(peer)? == local)
                    .then(|| uid.parse().ok())
                    .flatten()
            })
        }

        /// `0100007F:1F90` (the kernel prints each 32-bit word of the address in host order).
        fn address(field: &str) -> Option<SocketAddr> {
            let (ip, port) = field.split_once(':')?;
            let port = u16::from_str_radix(port, 16).ok()?;
            let words: Option<Vec<[u8; 4]>> = (0..ip.len() / 8)
                .map(|i| {
                    let w = u32::from_str_radix(ip.get(i * 8..i * 8 + 8)?, 16).ok()?;
                    Some(w.to_ne_bytes())
                })
                .collect();
            let bytes: Vec<u8> = words?.concat();
            let ip = match bytes.len() {
                4 => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(bytes).ok()?)),
                16 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?)),
                _ => return None,
            };
            Some(SocketAddr::new(ip.to_canonical(), port))
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::linux::{diag, proc_net};
    use super::*;
    use std::net::{TcpListener, TcpStream};

    fn pair() -> (TcpListener, TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (server, _) = l.accept().unwrap();
        (l, client, server)
    }

    #[test]
    fn both_lookups_find_our_own_connection() {
        let (_l, _client, server) = pair();
        let (local, remote) = (server.local_addr().unwrap(), server.peer_addr().unwrap());
        let me = unsafe { libc::geteuid() };
        assert_eq!(diag::owner(local, remote).unwrap(), Some(me));
        assert_eq!(proc_net::owner(local, remote).unwrap(), Some(me));
        assert_eq!(of_connection(local, remote), Peer::Me);
    }

    #[test]
    fn an_ipv6_connection_is_found_too() {
        let Ok(l) = TcpListener::bind("[::1]:0") else {
            return; // no IPv6 loopback on this machine
        };
        let _client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (server, _) = l.accept().unwrap();
        let (local, remote) = (server.local_addr().unwrap(), server.peer_addr().unwrap());
        let me = unsafe { libc::geteuid() };
        assert_eq!(diag::owner(local, remote).unwrap(), Some(me));
        assert_eq!(proc_net::owner(local, remote).unwrap(), Some(me));
    }

    /// Needs root (as CI runs) to act as another user through `setpriv`.
    #[test]
    fn another_users_connection_is_named_by_their_uid() {
        assert_eq!(
            unsafe { libc::geteuid() },
            0,
            "this test acts as uid 65534 through setpriv, which needs root"
        );
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let script = format!(
            "import socket,time; s=socket.create_connection(('127.0.0.1',{port})); time.sleep(20)"
        );
        let mut other = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .args(["/usr/bin/python3", "-c", &script])
            .spawn()
            .expect("run setpriv (util-linux)");
        let (server, _) = l.accept().unwrap();
        let (local, remote) = (server.local_addr().unwrap(), server.peer_addr().unwrap());
        let diag = diag::owner(local, remote);
        let proc = proc_net::owner(local, remote);
        let verdict = of_connection(local, remote);
        let _ = other.kill();
        let _ = other.wait();
        assert_eq!(diag.unwrap(), Some(65534));
        assert_eq!(proc.unwrap(), Some(65534));
        assert_eq!(verdict, Peer::Other(65534));
        assert!(!verdict.allowed());
    }

    #[test]
    fn a_connection_that_is_not_there_is_refused() {
        let (_l, _client, server) = pair();
        let (local, remote) = (server.local_addr().unwrap(), server.peer_addr().unwrap());
        // Our own accepted socket (the reverse direction) must never stand in for the peer's.
        let nobody = SocketAddr::new(remote.ip(), remote.port().wrapping_add(1).max(1));
        assert_eq!(diag::owner(local, nobody).unwrap(), None);
        assert_eq!(proc_net::owner(local, nobody).unwrap(), None);
        let verdict = of_connection(local, nobody);
        assert!(matches!(verdict, Peer::Unknown(_)), "{verdict:?}");
        assert!(!verdict.allowed());
    }

    #[test]
    fn the_proc_tables_are_read_in_host_order_with_v4_mapped_rows() {
        let local: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let remote: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let word = |ip: [u8; 4]| format!("{:08X}", u32::from_ne_bytes(ip));
        let v4 = format!(
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
             \x20  0: {l}:1F90 {r}:9C40 01 00000000:00000000 00:00000000 00000000     0        0 1 1\n\
             \x20  1: {r}:9C40 {l}:1F90 06 00000000:00000000 00:00000000 00000000  1001        0 2 1\n\
             \x20  2: {r}:9C40 {l}:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 3 1\n",
            l = word([127, 0, 0, 1]),
            r = word([127, 0, 0, 1]),
        );
        // The time-wait row (06) of uid 1001 is skipped; the established one is uid 1000.
        assert_eq!(proc_net::find(&v4, local, remote), Some(1000));
        let mapped = format!(
            "{}{}{}{}",
            word([0, 0, 0, 0]),
            word([0, 0, 0, 0]),
            word([0, 0, 0xff, 0xff]),
            word([127, 0, 0, 1])
        );
        let v6 = format!(
            "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
             \x20  0: {mapped}:9C40 {mapped}:1F90 01 00000000:00000000 00:00000000 00000000  1002        0 4 1\n"
        );
        assert_eq!(proc_net::find(&v6, local, remote), Some(1002));
        assert_eq!(
            proc_net::find(&v6, remote, local),
            None,
            "direction matters"
        );
    }
}
