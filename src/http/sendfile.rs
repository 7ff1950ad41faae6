//! Zero-copy bodies: a connection that is about to send a large cached document
//! hands the kernel the file that mirrors it (`sendfile(2)`, see
//! [`crate::cache::FileRange`]) instead of copying the bytes into the socket, the
//! way nginx serves static files.
//!
//! hyper owns the connection and writes response bodies through the I/O type it is
//! given; it only sees byte slices. So the service notes which cached body it
//! answered with ([`Pending`]), and [`Conn`], the I/O type, recognises that body's
//! bytes among the slices hyper writes and sends them from the file instead. A slice
//! is only ever sent from the file when it lies inside the `Bytes` the note holds,
//! whose content the file mirrors, so whatever hyper does (pipelining, partial
//! writes, other bodies) the bytes on the wire are the ones hyper asked for; at worst
//! they are copied as before.

use super::conns::Slot;
use crate::cache::{FileRange, Variant};
use bytes::Bytes;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::rt::TokioIo;
use std::cell::RefCell;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, ready};
use tokio::net::TcpStream;

/// The cached body a connection is answering with, shared by its service and its
/// [`Conn`] on the connection's thread.
#[derive(Clone, Default)]
pub struct Pending(Rc<RefCell<Option<(Bytes, FileRange)>>>);

impl Pending {
    /// Notes a body about to be sent; a body without a file is copied as usual.
    pub fn set(&self, variant: &Variant) {
        if let Some(range) = &variant.file {
            *self.0.borrow_mut() = Some((variant.body.clone(), range.clone()));
        }
    }

    /// Sends `bufs` with the noted body's slice from its file, if one of them lies
    /// inside the noted body; `None` if none does.
    #[cfg(target_os = "linux")]
    fn write_from_file(
        &self,
        stream: &TcpStream,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Option<Poll<io::Result<usize>>> {
        let noted = self.0.borrow();
        let (body, range) = noted.as_ref()?;
        let (at, offset) = find_body(bufs, body)?;
        Some(poll_write_from_file(
            stream,
            cx,
            bufs,
            at,
            &range.file,
            range.offset + offset,
        ))
    }
}

/// A TCP connection as hyper's I/O, with the zero-copy path for noted bodies. It
/// tells the connection's [`Slot`] when bytes go out or cannot.
pub struct Conn {
    io: TokioIo<TcpStream>,
    pending: Pending,
    slot: Rc<Slot>,
}

impl Conn {
    pub fn new(stream: TcpStream, pending: Pending, slot: Rc<Slot>) -> Conn {
        Conn {
            io: TokioIo::new(stream),
            pending,
            slot,
        }
    }
}

impl Read for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl Write for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.as_mut()
            .poll_write_vectored(cx, std::slice::from_ref(&IoSlice::new(buf)))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        #[cfg(target_os = "linux")]
        let from_file = this.pending.write_from_file(this.io.inner(), cx, bufs);
        #[cfg(not(target_os = "linux"))]
        let from_file = None;
        let written =
            from_file.unwrap_or_else(|| Pin::new(&mut this.io).poll_write_vectored(cx, bufs));
        match &written {
            Poll::Ready(Ok(n)) if *n > 0 => this.slot.progress(),
            Poll::Pending => this.slot.stalled(),
            _ => {}
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The first slice that lies inside `body`, and its offset in it.
fn find_body(bufs: &[IoSlice<'_>], body: &[u8]) -> Option<(usize, u64)> {
    let start = body.as_ptr() as usize;
    let end = start + body.len();
    bufs.iter().enumerate().find_map(|(i, b)| {
        let p = b.as_ptr() as usize;
        (!b.is_empty() && p >= start && p + b.len() <= end).then(|| (i, (p - start) as u64))
    })
}

/// Writes the slices before the body (the response head) with `MSG_MORE`, so
/// they leave in one segment with the body's start, then the body slice with
/// `sendfile`. Returns how many bytes of `bufs` went out, as a write would.
#[cfg(target_os = "linux")]
fn poll_write_from_file(
    stream: &TcpStream,
    cx: &mut Context<'_>,
    bufs: &[IoSlice<'_>],
    at: usize,
    file: &std::fs::File,
    offset: u64,
) -> Poll<io::Result<usize>> {
    use rustix::net::{SendAncillaryBuffer, SendFlags, sendmsg};
    use tokio::io::Interest;

    let head: usize = bufs[..at].iter().map(|b| b.len()).sum();
    let mut sent = 0;
    if head > 0 {
        sent = ready!(poll_io(stream, cx, || {
            sendmsg(
                stream,
                &bufs[..at],
                &mut SendAncillaryBuffer::default(),
                SendFlags::MORE | SendFlags::NOSIGNAL,
            )
            .map_err(io::Error::from)
        }))?;
        if sent < head {
            return Poll::Ready(Ok(sent));
        }
    }
    let count = bufs[at].len();
    let send_body = || {
        let mut offset = offset;
        rustix::fs::sendfile(stream, file, Some(&mut offset), count).map_err(io::Error::from)
    };
    if sent > 0 {
        // The head is out: report it now rather than wait for room for the body.
        return Poll::Ready(match stream.try_io(Interest::WRITABLE, send_body) {
            Ok(n) => Ok(sent + n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(sent),
            Err(e) => Err(e),
        });
    }
    poll_io(stream, cx, send_body)
}

/// Runs a non-blocking write when the socket is writable, waiting as tokio does.
#[cfg(target_os = "linux")]
fn poll_io(
    stream: &TcpStream,
    cx: &mut Context<'_>,
    mut write: impl FnMut() -> io::Result<usize>,
) -> Poll<io::Result<usize>> {
    loop {
        ready!(stream.poll_write_ready(cx))?;
        match stream.try_io(tokio::io::Interest::WRITABLE, &mut write) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            r => return Poll::Ready(r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_only_slices_inside_the_body() {
        let body = vec![7u8; 100];
        let head = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        let bufs = [IoSlice::new(&head), IoSlice::new(&body[40..])];
        assert_eq!(find_body(&bufs, &body), Some((1, 40)));
        let copy = body.clone();
        assert_eq!(find_body(&[IoSlice::new(&copy)], &body), None);
        assert_eq!(find_body(&[IoSlice::new(&head)], &body), None);
    }
}
