//! Connections from inside a Pod's network namespace (port-forward reaches the Pod's
//! `localhost`, as the kubelet does): the socket is made on a short-lived thread that enters
//! the namespace, and keeps belonging to it afterwards.

use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::path::Path;

/// A TCP connection to `address` as seen from the network namespace at `netns`.
pub fn connect_in(netns: &Path, address: SocketAddr) -> std::io::Result<TcpStream> {
    let namespace = std::fs::File::open(netns)?;
    std::thread::Builder::new()
        .name("netns-connect".into())
        .spawn(move || {
            rustix::thread::move_into_link_name_space(
                namespace.as_fd(),
                Some(rustix::thread::LinkNameSpaceType::Network),
            )?;
            TcpStream::connect(address)
        })?
        .join()
        .map_err(|_| std::io::Error::other("the connecting thread panicked"))?
}
