//! The socket half of QAbstractSocket, shared by both drivers: socket options, `bind` before a
//! connect, the address family of a connect, and the adoption of descriptors. Everything here
//! goes through socket2 (no hand-written `setsockopt`, no `unsafe`), but IPv6's traffic class,
//! which socket2 does not expose: rustix's safe wrapper sets it on Unix.

use std::io;
use std::net::{IpAddr, SocketAddr};

use socket2::{Domain, Protocol, SockRef, Socket, Type};
use ssl_api::{Error, SocketSetupError, SocketState, UsageError};

/// A TCP socket option (QAbstractSocket::SocketOption), set with `set_socket_option` on
/// [`SslSocket`](crate::SslSocket) and [`AsyncSslSocket`](crate::AsyncSslSocket) (before the
/// connect: applied when the socket is made; after: at once) and read back from the kernel
/// with `socket_option`. Values are integers, as Qt's are: `0` / `1` for the two switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocketOption {
    /// `TCP_NODELAY` (LowDelayOption): `1` sends small writes at once. **On by default**, unlike
    /// Qt: handshake flights and short answers would otherwise wait for Nagle's algorithm
    /// (a server's reply behind its unacknowledged session tickets). Set `0` to turn it off.
    LowDelay,
    /// `SO_KEEPALIVE` (KeepAliveOption): `1` probes an idle connection.
    KeepAlive,
    /// `SO_SNDBUF` (SendBufferSizeSocketOption), in bytes, `1..=i32::MAX`. The kernel may round
    /// it (Linux reads back twice the value set, its bookkeeping included).
    SendBufferSize,
    /// `SO_RCVBUF` (ReceiveBufferSizeSocketOption), as [`SocketOption::SendBufferSize`].
    ReceiveBufferSize,
    /// `IP_TOS` on IPv4, `IPV6_TCLASS` on IPv6 (TypeOfServiceOption), `0..=255`. Not
    /// available on Windows (a typed [`SocketSetupError::UnsupportedOption`]).
    TypeOfService,
}

impl SocketOption {
    /// Every option, in declaration order.
    pub const ALL: [SocketOption; 5] = [
        SocketOption::LowDelay,
        SocketOption::KeepAlive,
        SocketOption::SendBufferSize,
        SocketOption::ReceiveBufferSize,
        SocketOption::TypeOfService,
    ];

    /// Qt's name of the option.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            SocketOption::LowDelay => "LowDelayOption",
            SocketOption::KeepAlive => "KeepAliveOption",
            SocketOption::SendBufferSize => "SendBufferSizeSocketOption",
            SocketOption::ReceiveBufferSize => "ReceiveBufferSizeSocketOption",
            SocketOption::TypeOfService => "TypeOfServiceOption",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// Whether `value` is one the option takes.
    fn check(self, value: u32) -> Result<(), SocketSetupError> {
        let (ok, allowed) = match self {
            SocketOption::LowDelay | SocketOption::KeepAlive => (value <= 1, "0 or 1"),
            SocketOption::SendBufferSize | SocketOption::ReceiveBufferSize => {
                (value >= 1 && i32::try_from(value).is_ok(), "1..=2147483647 bytes")
            }
            SocketOption::TypeOfService => (value <= 255, "0..=255"),
        };
        if ok {
            Ok(())
        } else {
            Err(SocketSetupError::InvalidOptionValue {
                option: self.name(),
                value: value.into(),
                allowed,
            })
        }
    }
}

/// A set of socket option values: what a socket applies when its TCP socket is made, and
/// what a server applies to every socket it accepts (`set_socket_options`). Options not set
/// keep the kernel's default, but [`SocketOption::LowDelay`], which is on unless set to `0`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SocketOptions {
    values: [Option<u32>; 5],
}

impl SocketOptions {
    /// No option set (LowDelay on, the rest the kernel's defaults).
    #[must_use]
    pub fn new() -> SocketOptions {
        SocketOptions::default()
    }

    /// Sets `option` to `value`, checked against what the option takes.
    ///
    /// # Errors
    /// [`SocketSetupError::InvalidOptionValue`] (as [`Error::Socket`]).
    pub fn set(&mut self, option: SocketOption, value: u32) -> Result<(), Error> {
        option.check(value)?;
        self.values[option.index()] = Some(value);
        Ok(())
    }

    /// As [`SocketOptions::set`], by value, for building a set in one expression.
    ///
    /// # Errors
    /// As [`SocketOptions::set`].
    pub fn with(mut self, option: SocketOption, value: u32) -> Result<SocketOptions, Error> {
        self.set(option, value)?;
        Ok(self)
    }

    /// The value set for `option`, if any.
    #[must_use]
    pub fn get(&self, option: SocketOption) -> Option<u32> {
        self.values[option.index()]
    }

    /// The options set, with their values.
    pub fn iter(&self) -> impl Iterator<Item = (SocketOption, u32)> + '_ {
        SocketOption::ALL.into_iter().filter_map(|o| self.get(o).map(|v| (o, v)))
    }

    /// Applies every option set (and LowDelay's default) to `socket`.
    pub(crate) fn apply(&self, socket: SockRef<'_>) -> Result<(), Error> {
        if self.get(SocketOption::LowDelay).is_none() {
            set_option(&socket, SocketOption::LowDelay, 1)?;
        }
        for (option, value) in self.iter() {
            set_option(&socket, option, value)?;
        }
        Ok(())
    }
}

/// Whether the socket is IPv6 (its local address says; an unbound socket's is the family's
/// unspecified address).
fn is_ipv6(socket: &SockRef<'_>) -> io::Result<bool> {
    Ok(socket.local_addr()?.is_ipv6())
}

/// Sets one option on a live socket.
pub(crate) fn set_option(
    socket: &SockRef<'_>,
    option: SocketOption,
    value: u32,
) -> Result<(), Error> {
    option.check(value)?;
    let done = match option {
        SocketOption::LowDelay => socket.set_tcp_nodelay(value == 1),
        SocketOption::KeepAlive => socket.set_keepalive(value == 1),
        // `check` bounded the sizes to i32, so they fit a usize.
        SocketOption::SendBufferSize => socket.set_send_buffer_size(value as usize),
        SocketOption::ReceiveBufferSize => socket.set_recv_buffer_size(value as usize),
        SocketOption::TypeOfService => return set_type_of_service(socket, value),
    };
    done.map_err(Error::io)
}

/// Reads one option back from a live socket.
pub(crate) fn get_option(socket: &SockRef<'_>, option: SocketOption) -> Result<u32, Error> {
    let value = match option {
        SocketOption::LowDelay => socket.tcp_nodelay().map(u32::from),
        SocketOption::KeepAlive => socket.keepalive().map(u32::from),
        SocketOption::SendBufferSize => socket.send_buffer_size().map(saturate),
        SocketOption::ReceiveBufferSize => socket.recv_buffer_size().map(saturate),
        SocketOption::TypeOfService => return type_of_service(socket),
    };
    value.map_err(Error::io)
}

fn saturate(size: usize) -> u32 {
    u32::try_from(size).unwrap_or(u32::MAX)
}

#[cfg(unix)]
fn set_type_of_service(socket: &SockRef<'_>, value: u32) -> Result<(), Error> {
    if is_ipv6(socket).map_err(Error::io)? {
        // socket2 0.6 has no IPV6_TCLASS; rustix's wrapper is safe.
        rustix::net::sockopt::set_ipv6_tclass(&**socket, value).map_err(|e| Error::io(e.into()))
    } else {
        socket.set_tos_v4(value).map_err(Error::io)
    }
}

#[cfg(unix)]
fn type_of_service(socket: &SockRef<'_>) -> Result<u32, Error> {
    if is_ipv6(socket).map_err(Error::io)? {
        rustix::net::sockopt::ipv6_tclass(&**socket).map_err(|e| Error::io(e.into()))
    } else {
        socket.tos_v4().map_err(Error::io)
    }
}

#[cfg(not(unix))]
fn set_type_of_service(_socket: &SockRef<'_>, _value: u32) -> Result<(), Error> {
    Err(tos_unsupported())
}

#[cfg(not(unix))]
fn type_of_service(_socket: &SockRef<'_>) -> Result<u32, Error> {
    Err(tos_unsupported())
}

#[cfg(not(unix))]
fn tos_unsupported() -> Error {
    // Windows ignores IP_TOS unless a registry switch is set, and has no IPV6_TCLASS.
    Error::Socket(SocketSetupError::UnsupportedOption {
        option: SocketOption::TypeOfService.name(),
        why: "on this platform",
    })
}

/// How `bind` shares its address (QAbstractSocket::BindMode, a set of flags combined with
/// `|`). On Unix, `SHARE_ADDRESS` and `REUSE_ADDRESS_HINT` set `SO_REUSEADDR` (as Qt does);
/// `DONT_SHARE_ADDRESS` and the default leave it off. On Windows `REUSE_ADDRESS_HINT` sets
/// `SO_REUSEADDR`; `DONT_SHARE_ADDRESS` (`SO_EXCLUSIVEADDRUSE`) is not available through
/// socket2 and is the same as the default there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BindMode(u8);

impl BindMode {
    /// The platform's default (DefaultForPlatform).
    pub const DEFAULT_FOR_PLATFORM: BindMode = BindMode(0);
    /// Other sockets may bind the same address and port (ShareAddress).
    pub const SHARE_ADDRESS: BindMode = BindMode(1);
    /// The address is this socket's alone (DontShareAddress).
    pub const DONT_SHARE_ADDRESS: BindMode = BindMode(2);
    /// Bind even if the address is still in use by a closed connection (ReuseAddressHint).
    pub const REUSE_ADDRESS_HINT: BindMode = BindMode(4);

    /// Whether every flag of `other` is set here.
    #[must_use]
    pub fn contains(self, other: BindMode) -> bool {
        self.0 & other.0 == other.0
    }

    fn reuse_address(self) -> bool {
        if cfg!(unix) {
            self.contains(BindMode::SHARE_ADDRESS) || self.contains(BindMode::REUSE_ADDRESS_HINT)
        } else {
            self.contains(BindMode::REUSE_ADDRESS_HINT)
        }
    }
}

impl std::ops::BitOr for BindMode {
    type Output = BindMode;

    fn bitor(self, other: BindMode) -> BindMode {
        BindMode(self.0 | other.0)
    }
}

/// The address family a connect uses (QAbstractSocket::NetworkLayerProtocol): Qt's
/// `protocol` argument of `connectToHost`, a property of the socket here
/// (`set_network_layer_protocol`) because Rust has no default arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NetworkLayerProtocol {
    /// IPv4 addresses only.
    IPv4Protocol,
    /// IPv6 addresses only.
    IPv6Protocol,
    /// Every resolved address, in the resolver's order (the default).
    #[default]
    AnyIPProtocol,
}

impl NetworkLayerProtocol {
    fn admits(self, addr: &SocketAddr) -> bool {
        match self {
            NetworkLayerProtocol::IPv4Protocol => addr.is_ipv4(),
            NetworkLayerProtocol::IPv6Protocol => addr.is_ipv6(),
            NetworkLayerProtocol::AnyIPProtocol => true,
        }
    }
}

/// A `bind` waiting for its connect: the socket, bound, with the address it got.
#[derive(Debug)]
struct Binding {
    /// The socket bound by `bind` (or adopted bound), used by the first connect attempt.
    reserved: Option<Socket>,
    /// Where it is bound (the port the kernel chose, when asked for port 0).
    local: SocketAddr,
    mode: BindMode,
}

/// A socket's socket-level settings: its options, its address family, its binding.
#[derive(Debug, Default)]
pub(crate) struct Net {
    options: SocketOptions,
    pub(crate) protocol: NetworkLayerProtocol,
    binding: Option<Binding>,
    /// Bumped by every option set, to catch up a socket made before (a connect in flight).
    generation: u64,
    /// The generation the last socket made got.
    made_at: u64,
}

impl Net {
    /// The options set.
    pub(crate) fn options(&self) -> &SocketOptions {
        &self.options
    }

    /// Records an option for the sockets made from now on.
    pub(crate) fn set_option(&mut self, option: SocketOption, value: u32) -> Result<(), Error> {
        self.options.set(option, value)?;
        self.generation += 1;
        Ok(())
    }

    /// Applies the options to a socket that was made (or adopted) now.
    pub(crate) fn apply(&mut self, socket: SockRef<'_>) -> Result<(), Error> {
        self.made_at = self.generation;
        self.options.apply(socket)
    }

    /// The connect finished on a socket made earlier: options set meanwhile are applied now.
    pub(crate) fn catch_up(&mut self, socket: SockRef<'_>) -> Result<(), Error> {
        if self.made_at == self.generation {
            return Ok(());
        }
        self.apply(socket)
    }

    /// `bind(address, mode)`: makes and binds the socket the next connect uses.
    pub(crate) fn bind(&mut self, addr: SocketAddr, mode: BindMode) -> Result<SocketAddr, Error> {
        let socket = new_socket(addr, mode).map_err(Error::io)?;
        socket.bind(&addr.into()).map_err(Error::io)?;
        let local = bound_address(&socket)?;
        self.binding = Some(Binding { reserved: Some(socket), local, mode });
        Ok(local)
    }

    /// Takes a socket adopted in `BoundState` as the binding.
    pub(crate) fn adopt_bound(&mut self, socket: Socket) -> Result<(), Error> {
        let local = bound_address(&socket)?;
        self.binding = Some(Binding { reserved: Some(socket), local, mode: BindMode::default() });
        Ok(())
    }

    /// The address `bind` bound, until the connect that uses it ends.
    pub(crate) fn bound_address(&self) -> Option<SocketAddr> {
        self.binding.as_ref().map(|b| b.local)
    }

    /// The bound socket's descriptor, while it waits for its connect.
    pub(crate) fn bound_socket(&self) -> Option<&Socket> {
        self.binding.as_ref().and_then(|b| b.reserved.as_ref())
    }

    /// Forgets the binding: the connect that used it has ended (or a new one begins unbound).
    pub(crate) fn unbind(&mut self) {
        self.binding = None;
    }

    /// The addresses a connect tries, in order: those of the address family asked for, and of
    /// the bound address's family when bound.
    pub(crate) fn candidates(
        &self,
        addrs: impl IntoIterator<Item = SocketAddr>,
    ) -> Vec<SocketAddr> {
        let bound = self.binding.as_ref().map(|b| b.local.is_ipv4());
        addrs
            .into_iter()
            .filter(|a| self.protocol.admits(a) && bound.is_none_or(|v4| a.is_ipv4() == v4))
            .collect()
    }

    /// The non-blocking socket for a connect to `addr`, options applied and bound if `bind`
    /// asked for it (the bound socket itself for the first attempt, a new one bound to the
    /// same address for the next).
    pub(crate) fn socket_for(&mut self, addr: SocketAddr) -> Result<Socket, Error> {
        let socket = match &mut self.binding {
            Some(binding) => match binding.reserved.take() {
                Some(socket) => socket,
                None => {
                    let socket = new_socket(binding.local, binding.mode).map_err(Error::io)?;
                    socket.bind(&binding.local.into()).map_err(Error::io)?;
                    socket
                }
            },
            None => tcp_socket(Domain::for_address(addr)).map_err(Error::io)?,
        };
        // Every socket here is non-blocking already: made so by `tcp_socket`, or adopted
        // in BoundState through `check_adopted`.
        self.apply(SockRef::from(&socket))?;
        Ok(socket)
    }

    /// Starts a non-blocking connect of a socket from [`Net::socket_for`].
    pub(crate) fn start_connect(socket: &Socket, addr: SocketAddr) -> io::Result<()> {
        match socket.connect(&addr.into()) {
            Ok(()) => Ok(()),
            Err(e) if in_progress(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

fn in_progress(err: &io::Error) -> bool {
    #[cfg(unix)]
    if err.raw_os_error() == Some(rustix::io::Errno::INPROGRESS.raw_os_error()) {
        return true;
    }
    err.kind() == io::ErrorKind::WouldBlock
}

/// A new non-blocking TCP socket: made so by socket(2) itself where it takes `SOCK_NONBLOCK`
/// (one system call per connect where setting it afterwards takes two more, fcntl F_GETFL
/// and F_SETFL).
#[cfg(any(
    target_os = "android",
    target_os = "dragonfly",
    target_os = "freebsd",
    target_os = "fuchsia",
    target_os = "illumos",
    target_os = "linux",
    target_os = "netbsd",
    target_os = "openbsd",
))]
fn tcp_socket(domain: Domain) -> io::Result<Socket> {
    Socket::new(domain, Type::STREAM.nonblocking(), Some(Protocol::TCP))
}

#[cfg(not(any(
    target_os = "android",
    target_os = "dragonfly",
    target_os = "freebsd",
    target_os = "fuchsia",
    target_os = "illumos",
    target_os = "linux",
    target_os = "netbsd",
    target_os = "openbsd",
)))]
/// A new non-blocking TCP socket.
fn tcp_socket(domain: Domain) -> io::Result<Socket> {
    let socket = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}

fn new_socket(addr: SocketAddr, mode: BindMode) -> io::Result<Socket> {
    let socket = tcp_socket(Domain::for_address(addr))?;
    socket.set_reuse_address(mode.reuse_address())?;
    Ok(socket)
}

fn bound_address(socket: &Socket) -> Result<SocketAddr, Error> {
    socket
        .local_addr()
        .map_err(Error::io)?
        .as_socket()
        .ok_or_else(|| SocketSetupError::NotATcpSocket("not an IPv4 or IPv6 socket".into()).into())
}

/// Checks a descriptor to adopt in `state` (ConnectedState or BoundState) and makes it
/// non-blocking.
pub(crate) fn check_adopted(socket: &Socket, state: SocketState) -> Result<(), Error> {
    let not_tcp = |why: String| Error::Socket(SocketSetupError::NotATcpSocket(why));
    match socket.r#type() {
        Ok(kind) if kind == Type::STREAM => {}
        Ok(_) => return Err(not_tcp("not a stream socket".into())),
        Err(e) => return Err(not_tcp(e.to_string())),
    }
    let local = bound_address(socket)?;
    let connected = socket.peer_addr().is_ok();
    match state {
        SocketState::ConnectedState if !connected => {
            return Err(SocketSetupError::DescriptorState("connected").into());
        }
        SocketState::BoundState if connected || local.port() == 0 => {
            return Err(SocketSetupError::DescriptorState("bound (and unconnected)").into());
        }
        SocketState::ConnectedState | SocketState::BoundState => {}
        other => return Err(SocketSetupError::AdoptedState(other).into()),
    }
    socket.set_nonblocking(true).map_err(Error::io)
}

/// `bind` is for an unconnected socket.
pub(crate) fn check_bindable(state: SocketState) -> Result<(), Error> {
    match state {
        SocketState::UnconnectedState | SocketState::BoundState => Ok(()),
        _ => Err(SocketSetupError::BindNotUnconnected.into()),
    }
}

/// `socket_option` on a socket: the kernel's value when the TCP socket exists, else the value
/// set to be applied (LowDelay: on unless set off).
pub(crate) fn read_option(
    live: Option<SockRef<'_>>,
    options: &SocketOptions,
    option: SocketOption,
) -> Result<u32, Error> {
    match live {
        Some(socket) => get_option(&socket, option),
        None => options.get(option).map_or_else(
            || match option {
                SocketOption::LowDelay => Ok(1),
                _ => Err(Error::Usage(UsageError::NotConnected)),
            },
            Ok,
        ),
    }
}

/// An IP literal host name: connected to without a lookup, as Qt does.
pub(crate) fn literal(host: &str) -> Option<IpAddr> {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    bare.parse().ok()
}

/// The socket-level API both sockets share (options, bind, address family, descriptors,
/// addresses), on a driver type with a `net: Net` field, a `conn: Connection` field and a
/// `fn live_socket(&self) -> Option<SockRef<'_>>` giving its TCP socket once it exists.
macro_rules! socket_net_api {
    ($socket:ty) => {
        impl $socket {
            /// Sets a socket option (`setSocketOption`): at once on the TCP socket if it
            /// exists, and on every TCP socket this socket makes from now on.
            ///
            /// # Errors
            /// [`Error::Socket`](ssl_api::Error::Socket) for a value the option does not take
            /// or an option the platform lacks; the kernel's refusal as `Error::Io`.
            pub fn set_socket_option(
                &mut self,
                option: $crate::SocketOption,
                value: u32,
            ) -> Result<(), ssl_api::Error> {
                if let Some(socket) = self.live_socket() {
                    $crate::net::set_option(&socket, option, value)?;
                }
                self.net.set_option(option, value)
            }

            /// The value of a socket option (`socketOption`), read from the kernel once the
            /// TCP socket exists; before, the value that will be applied.
            ///
            /// # Errors
            /// Before the TCP socket exists, `Usage(NotConnected)` for an option not set (its
            /// value is the kernel's default, known only then); the kernel's refusal as
            /// `Error::Io`; `Error::Socket` for an option the platform lacks.
            pub fn socket_option(
                &self,
                option: $crate::SocketOption,
            ) -> Result<u32, ssl_api::Error> {
                $crate::net::read_option(self.live_socket(), self.net.options(), option)
            }

            /// Sets every option of `options` as [`Self::set_socket_option`] does.
            ///
            /// # Errors
            /// As [`Self::set_socket_option`].
            pub fn set_socket_options(
                &mut self,
                options: &$crate::SocketOptions,
            ) -> Result<(), ssl_api::Error> {
                for (option, value) in options.iter() {
                    self.set_socket_option(option, value)?;
                }
                Ok(())
            }

            /// The options set on this socket (not the kernel's values: see
            /// [`Self::socket_option`]).
            #[must_use]
            pub fn socket_options(&self) -> &$crate::SocketOptions {
                self.net.options()
            }

            /// The address family of the next `connect_to_host*` (Qt's `protocol` argument):
            /// `IPv4Protocol` / `IPv6Protocol` try only the resolved addresses of that family
            /// (none: `HostNotFound`), `AnyIPProtocol` (the default) all of them, in order,
            /// and the error of the last one is the one reported.
            pub fn set_network_layer_protocol(&mut self, protocol: $crate::NetworkLayerProtocol) {
                self.net.protocol = protocol;
            }

            /// The address family connects use (see [`Self::set_network_layer_protocol`]).
            #[must_use]
            pub fn network_layer_protocol(&self) -> $crate::NetworkLayerProtocol {
                self.net.protocol
            }

            /// Binds the socket the next connect uses to `address` (`bind`): BoundState, and
            /// the connect goes out from that address and port (port 0: one the kernel
            /// chooses, then reported by `local_address`). Only addresses of the bound family
            /// are tried. The binding ends with that connection.
            ///
            /// # Errors
            /// The kernel's refusal as `Error::Io` (`AddressInUseError`,
            /// `SocketAddressNotAvailableError`, `SocketAccessError`);
            /// `Socket(BindNotUnconnected)` on a socket that is connecting or connected.
            pub fn bind(
                &mut self,
                address: std::net::SocketAddr,
                mode: $crate::BindMode,
            ) -> Result<std::net::SocketAddr, ssl_api::Error> {
                $crate::net::check_bindable(self.conn.state())?;
                let local = self.net.bind(address, mode)?;
                self.conn.handle_bound();
                self.after_net_change();
                Ok(local)
            }

            /// The local address: of the TCP connection, or the bound address in BoundState.
            #[must_use]
            pub fn local_address(&self) -> Option<std::net::SocketAddr> {
                match self.live_socket() {
                    Some(socket) => socket.local_addr().ok().and_then(|a| a.as_socket()),
                    None => self.net.bound_address(),
                }
            }

            /// The peer's address, while connected: through a proxy, the target's (see
            /// [`Connection::proxied_peer_address`](crate::conn::Connection::proxied_peer_address)).
            #[must_use]
            pub fn peer_address(&self) -> Option<std::net::SocketAddr> {
                if let Some(target) = self.conn.proxied_peer_address() {
                    return target;
                }
                self.live_socket().and_then(|s| s.peer_addr().ok()).and_then(|a| a.as_socket())
            }

            /// The TCP socket's descriptor (`socketDescriptor`), while there is one: bound, or
            /// connected (the blocking socket's also while its connect is in progress).
            #[cfg(unix)]
            #[must_use]
            pub fn socket_descriptor(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
                use std::os::fd::AsFd;
                match self.stream_fd() {
                    Some(fd) => Some(fd),
                    None => self.net.bound_socket().map(|s| s.as_fd()),
                }
            }

            /// The TCP socket's handle (`socketDescriptor`), while there is one.
            #[cfg(windows)]
            #[must_use]
            pub fn socket_descriptor(&self) -> Option<std::os::windows::io::BorrowedSocket<'_>> {
                use std::os::windows::io::AsSocket;
                match self.stream_fd() {
                    Some(fd) => Some(fd),
                    None => self.net.bound_socket().map(|s| s.as_socket()),
                }
            }
        }

        /// The descriptor, or `-1` when the socket has none (as Qt's `socketDescriptor()`).
        /// `AsFd` is not implemented: it cannot say "none"; use
        #[doc = concat!("[`", stringify!($socket), "::socket_descriptor`].")]
        #[cfg(unix)]
        impl std::os::fd::AsRawFd for $socket {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                self.socket_descriptor().map_or(-1, |fd| fd.as_raw_fd())
            }
        }

        /// The handle, or `INVALID_SOCKET` when the socket has none (as Qt's
        /// `socketDescriptor()` returns -1).
        #[cfg(windows)]
        impl std::os::windows::io::AsRawSocket for $socket {
            fn as_raw_socket(&self) -> std::os::windows::io::RawSocket {
                use std::os::windows::io::AsRawSocket;
                self.socket_descriptor()
                    .map_or(std::os::windows::io::RawSocket::MAX, |s| s.as_raw_socket())
            }
        }
    };
}

pub(crate) use socket_net_api;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_keep_the_resolver_order_within_the_family_asked_for() {
        let mixed: Vec<SocketAddr> =
            ["[::1]:1", "127.0.0.1:1", "[::2]:1", "10.0.0.1:1"].map(|a| a.parse().unwrap()).into();
        let mut net = Net::default();
        assert_eq!(net.candidates(mixed.clone()), mixed);
        net.protocol = NetworkLayerProtocol::IPv6Protocol;
        assert_eq!(net.candidates(mixed.clone()), [mixed[0], mixed[2]]);
        net.protocol = NetworkLayerProtocol::IPv4Protocol;
        assert_eq!(net.candidates(mixed.clone()), [mixed[1], mixed[3]]);
        // Bound to an IPv4 address: only IPv4 addresses, whatever the protocol says.
        net.protocol = NetworkLayerProtocol::AnyIPProtocol;
        net.bind("127.0.0.1:0".parse().unwrap(), BindMode::default()).unwrap();
        assert_eq!(net.candidates(mixed.clone()), [mixed[1], mixed[3]]);
    }

    #[test]
    fn literals_are_recognised_with_or_without_brackets() {
        assert_eq!(literal("127.0.0.1"), Some(IpAddr::from([127, 0, 0, 1])));
        assert_eq!(literal("[::1]"), Some(IpAddr::from(std::net::Ipv6Addr::LOCALHOST)));
        assert_eq!(literal("::1"), Some(IpAddr::from(std::net::Ipv6Addr::LOCALHOST)));
        assert_eq!(literal("localhost"), None);
    }
}
