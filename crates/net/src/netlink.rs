//! rtnetlink operations in the host's network namespace or inside a Pod's. A netlink socket
//! belongs to the namespace of the thread that opened it, so each batch of operations runs on
//! a short-lived thread that first enters the target namespace (the caller's threads never
//! change namespace), with a single-threaded tokio runtime for rtnetlink.

use std::future::Future;
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, OwnedFd};

use futures::TryStreamExt;
use rtnetlink::{Handle, LinkUnspec, RouteMessageBuilder};

use crate::NetError;

const ENODEV: i32 = -19;
const EEXIST: i32 = -17;
pub(crate) const ESRCH: i32 = -3;

pub(crate) fn code(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => m.code.map(|c| c.get()),
        _ => None,
    }
}

/// Wraps a netlink error with what was being done.
pub(crate) fn fail(what: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> NetError {
    let what = what.into();
    move |e| NetError::Netlink { what, message: e.to_string() }
}

/// Runs `f` with a netlink handle in the namespace `netns` (the host's when `None`).
pub(crate) fn run<T, F, Fut>(netns: Option<OwnedFd>, f: F) -> Result<T, NetError>
where
    T: Send + 'static,
    F: FnOnce(Handle) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, NetError>>,
{
    let thread = std::thread::Builder::new().name("netlink".into()).spawn(move || {
        if let Some(fd) = netns {
            rustix::thread::move_into_link_name_space(fd.as_fd(), Some(rustix::thread::LinkNameSpaceType::Network))
                .map_err(|e| NetError::Namespace(format!("entering the Pod's network namespace: {e}")))?;
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(|e| NetError::Namespace(format!("netlink runtime: {e}")))?;
        rt.block_on(async move {
            let (connection, handle, _) =
                rtnetlink::new_connection().map_err(|e| NetError::Namespace(format!("netlink socket: {e}")))?;
            let task = tokio::spawn(connection);
            let out = f(handle).await;
            task.abort();
            out
        })
    });
    thread
        .map_err(|e| NetError::Namespace(format!("netlink thread: {e}")))?
        .join()
        .map_err(|_| NetError::Namespace("netlink thread panicked".into()))?
}

/// The index of the link called `name`, if there is one.
pub(crate) async fn index(handle: &Handle, name: &str) -> Result<Option<u32>, NetError> {
    let mut links = handle.link().get().match_name(name.to_string()).execute();
    match links.try_next().await {
        Ok(link) => Ok(link.map(|l| l.header.index)),
        Err(e) if code(&e) == Some(ENODEV) => Ok(None),
        Err(e) => Err(fail(format!("looking up link {name}"))(e)),
    }
}

/// Sets a link up.
pub(crate) async fn up(handle: &Handle, index: u32, what: &str) -> Result<(), NetError> {
    handle.link().set(LinkUnspec::new_with_index(index).up().build()).execute().await.map_err(fail(what))
}

/// Adds `ip/prefix` to a link; an address that is already there is fine.
pub(crate) async fn add_address(handle: &Handle, index: u32, ip: Ipv4Addr, prefix: u8) -> Result<(), NetError> {
    match handle.address().add(index, ip.into(), prefix).execute().await {
        Err(e) if code(&e) == Some(EEXIST) => Ok(()),
        other => other.map_err(fail(format!("adding {ip}/{prefix}"))),
    }
}

/// Adds a default route through `gateway`.
pub(crate) async fn default_route(handle: &Handle, gateway: Ipv4Addr) -> Result<(), NetError> {
    let route = RouteMessageBuilder::<Ipv4Addr>::new().gateway(gateway).build();
    match handle.route().add(route).execute().await {
        Err(e) if code(&e) == Some(EEXIST) => Ok(()),
        other => other.map_err(fail(format!("adding the default route via {gateway}"))),
    }
}

/// Deletes the link called `name` if it exists.
pub(crate) async fn delete(handle: &Handle, name: &str) -> Result<(), NetError> {
    let Some(index) = index(handle, name).await? else { return Ok(()) };
    match handle.link().del(index).execute().await {
        Err(e) if code(&e) == Some(ENODEV) => Ok(()),
        other => other.map_err(fail(format!("deleting link {name}"))),
    }
}
