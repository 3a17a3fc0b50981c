//! Terminals for containers: a pty from a given devpts instance (the container's own, so the
//! terminal has a name inside it), and passing its master side between processes.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{Mode, OFlags};

/// A new pseudo-terminal of the devpts instance whose `ptmx` is given: (master, slave).
pub fn open_pty(ptmx: &Path) -> io::Result<(OwnedFd, OwnedFd)> {
    use rustix::pty::{ioctl_tiocgptpeer, unlockpt, OpenptFlags};
    let master = rustix::fs::open(ptmx, OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC, Mode::empty())?;
    unlockpt(&master)?;
    let slave = ioctl_tiocgptpeer(&master, OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)?;
    Ok((master, slave))
}

/// Sends one descriptor over a unix socket (SCM_RIGHTS).
pub fn send_fd(socket: BorrowedFd<'_>, fd: BorrowedFd<'_>) -> io::Result<()> {
    use rustix::net::{sendmsg, SendAncillaryBuffer, SendAncillaryMessage, SendFlags};
    let fds = [fd];
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut buffer = SendAncillaryBuffer::new(&mut space);
    buffer.push(SendAncillaryMessage::ScmRights(&fds));
    sendmsg(socket, &[io::IoSlice::new(b"t")], &mut buffer, SendFlags::empty())?;
    Ok(())
}

/// Receives one descriptor sent by [`send_fd`].
pub fn receive_fd(socket: &OwnedFd) -> io::Result<OwnedFd> {
    use rustix::net::{recvmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut buffer = RecvAncillaryBuffer::new(&mut space);
    let mut byte = [0u8; 1];
    recvmsg(socket, &mut [io::IoSliceMut::new(&mut byte)], &mut buffer, RecvFlags::CMSG_CLOEXEC)?;
    for message in buffer.drain() {
        if let RecvAncillaryMessage::ScmRights(mut fds) = message {
            if let Some(fd) = fds.next() {
                return Ok(fd);
            }
        }
    }
    Err(io::Error::other("no descriptor received"))
}
