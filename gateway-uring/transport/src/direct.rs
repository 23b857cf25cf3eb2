//! Connections held as io_uring direct descriptors. Each gateway thread may own a second ring
//! with a table of registered files; a plain connection accepted on the thread is moved into
//! that table and its ordinary file descriptor closed, so the number of connections is not
//! bounded by the process's open-files limit (each thread's table may hold up to that limit
//! again). Its reads, writes, shutdown and close go through this ring on the table slot.
//!
//! monoio 0.2 cannot use registered files (its operations take plain descriptors and it keeps
//! its ring to itself), hence a ring of our own: monoio's ring watches this ring's descriptor
//! with a poll, and the ring's driver task reaps completions and submits what tasks queued, so a
//! burst of writes (a fan-out) still costs one `io_uring_enter`.
//!
//! Unsafe code is allowed here alone in the transport: queueing an entry hands the kernel raw
//! pointers into buffers, which this module keeps alive until the entry's completion (each
//! `unsafe` block says why it is sound).
#![allow(unsafe_code)]

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::io;
use std::os::fd::{AsFd, RawFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use bytes::BytesMut;
use io_uring::types::{CancelBuilder, Fixed, SubmitArgs, Timespec};
use io_uring::{IoUring, opcode, squeue};
use monoio::buf::IoBuf;

/// Submission queue entries of a ring; when full, what is queued is submitted at once.
const ENTRIES: u32 = 2048;
/// Completion queue entries: every connection keeps a read in flight, and many may complete
/// together (a round of heartbeats). The kernel keeps completions past this rather than
/// dropping them, but that path is slower.
const CQ_ENTRIES: u32 = 16 * 1024;
/// A table smaller than this is not worth a ring: connections then use plain descriptors.
const MIN_TABLE: u32 = 256;

/// `user_data` of cancellations: their completions carry nothing to act on.
const CANCEL: u64 = u64::MAX;
/// `user_data` bit of a close; the low 32 bits are the table slot, free again once it completes.
const CLOSE: u64 = 1 << 62;
/// Marks an [`Op`] whose completion was taken.
const TAKEN: usize = usize::MAX;

/// One operation's entry in the ring's op table (its index is the operation's `user_data`).
enum OpState {
    /// In flight; the waker of the task awaiting it.
    Waiting(Option<Waker>),
    /// Completed with this result (a byte count, or a negated errno).
    Done(i32),
    /// Its future was dropped while in flight: the buffer the kernel may still use, freed
    /// when the completion arrives.
    Orphan(#[allow(dead_code)] Box<dyn Any>),
    /// Unused; the next unused entry.
    Free(usize),
}

/// A gateway thread's ring of direct descriptors.
pub(crate) struct Ring {
    uring: RefCell<IoUring>,
    ops: RefCell<Vec<OpState>>,
    /// Head of the list of free entries of `ops` (`TAKEN`: none).
    free_op: Cell<usize>,
    /// Operations the kernel still owns (waiting or orphaned).
    in_flight: Cell<usize>,
    /// Free slots of the file table.
    slots: RefCell<Vec<u32>>,
    /// Entries were queued since the last submit.
    unsubmitted: Cell<bool>,
    /// The driver task, parked until there is something to submit or reap.
    driver: Cell<Option<Waker>>,
    /// Tells the driver task to end.
    stopped: Cell<bool>,
    /// Size of the file table.
    table: u32,
}

impl Ring {
    /// A ring whose file table holds as many sockets as the process's open-files limit (or
    /// fewer, when the kernel refuses that many), and its driver task, spawned on the current
    /// monoio runtime (the thread's io_uring runtime); the task ends after [`Ring::stop`].
    pub(crate) fn start() -> io::Result<(Rc<Ring>, monoio::task::JoinHandle<()>)> {
        let uring = IoUring::builder()
            .setup_cqsize(CQ_ENTRIES)
            .setup_clamp()
            .build(ENTRIES)?;
        let mut table = open_files_limit().min(1 << 20);
        loop {
            match uring.submitter().register_files_sparse(table) {
                Ok(()) => break,
                Err(_) if table / 2 >= MIN_TABLE => table /= 2,
                Err(e) => return Err(e),
            }
        }
        // monoio watches a duplicate of the ring's descriptor: readable while completions wait.
        // The Unix stream type is only a way to hand monoio a descriptor to poll; it is never
        // read or written as a stream.
        let dup = uring.as_fd().try_clone_to_owned()?;
        let watch = monoio::net::UnixStream::from_std(std::os::unix::net::UnixStream::from(dup))?;
        let ring = Rc::new(Ring {
            uring: RefCell::new(uring),
            ops: RefCell::new(Vec::new()),
            free_op: Cell::new(TAKEN),
            in_flight: Cell::new(0),
            slots: RefCell::new((0..table).rev().collect()),
            unsubmitted: Cell::new(false),
            driver: Cell::new(None),
            stopped: Cell::new(false),
            table,
        });
        let driver = monoio::spawn(drive(ring.clone(), watch));
        Ok((ring, driver))
    }

    /// Size of the file table.
    pub(crate) fn table(&self) -> u32 {
        self.table
    }

    /// Ends the driver task (at thread stop); later operations are no longer submitted.
    pub(crate) fn stop(&self) {
        self.stopped.set(true);
        self.wake_driver();
    }

    /// Moves the socket `fd` into the table. `None` when the table is full or the kernel
    /// refused: the caller keeps using the plain descriptor. On success the caller closes `fd`
    /// (the table holds its own reference to the socket).
    pub(crate) fn adopt(self: &Rc<Self>, fd: RawFd) -> Option<Socket> {
        let slot = self.slots.borrow_mut().pop()?;
        let registered = self
            .uring
            .borrow()
            .submitter()
            .register_files_update(slot, &[fd]);
        match registered {
            Ok(1) => Some(Socket {
                ring: self.clone(),
                slot,
            }),
            outcome => {
                tracing::warn!(?outcome, slot, "registering a socket in the ring failed");
                self.slots.borrow_mut().push(slot);
                None
            }
        }
    }

    fn wake_driver(&self) {
        if let Some(w) = self.driver.take() {
            w.wake();
        }
    }

    /// Queues `entry`; the driver task submits it.
    fn push(&self, entry: &squeue::Entry) {
        loop {
            // SAFETY: every buffer an entry points at stays alive until its completion: an
            // `Op` holds it, and a dropped `Op` leaves it in the op table (`Orphan`).
            let pushed = unsafe { self.uring.borrow_mut().submission().push(entry) };
            if pushed.is_ok() {
                break;
            }
            // The queue is full: submit it now.
            self.submit();
        }
        self.unsubmitted.set(true);
        self.wake_driver();
    }

    /// Hands the queued entries to the kernel.
    fn submit(&self) {
        self.unsubmitted.set(false);
        loop {
            let result = self.uring.borrow().submit();
            match result {
                Ok(_) => return,
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
                // Completions the queue had no room for wait in the kernel: take some first.
                Err(e) if matches!(e.raw_os_error(), Some(libc::EBUSY | libc::EAGAIN)) => {
                    if self.reap() == 0 {
                        std::thread::yield_now();
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "io_uring submit failed");
                    return;
                }
            }
        }
    }

    /// Takes every completion; returns how many there were.
    fn reap(&self) -> usize {
        let mut uring = self.uring.borrow_mut();
        let mut ops = self.ops.borrow_mut();
        let mut count = 0;
        for cqe in uring.completion() {
            count += 1;
            let data = cqe.user_data();
            if data == CANCEL {
                continue;
            }
            if data & CLOSE != 0 {
                self.slots.borrow_mut().push(data as u32);
                continue;
            }
            let index = data as usize;
            let Some(state) = ops.get_mut(index) else {
                continue;
            };
            match std::mem::replace(state, OpState::Done(cqe.result())) {
                OpState::Waiting(waker) => {
                    self.in_flight.set(self.in_flight.get() - 1);
                    if let Some(w) = waker {
                        w.wake();
                    }
                }
                OpState::Orphan(_) => {
                    self.in_flight.set(self.in_flight.get() - 1);
                    *state = OpState::Free(self.free_op.replace(index));
                }
                previous => *state = previous,
            }
        }
        count
    }

    /// Queues `entry` as a new operation owning `buf` until it completes.
    fn op<B: 'static>(&self, entry: squeue::Entry, buf: B) -> Op<'_, B> {
        let index = {
            let mut ops = self.ops.borrow_mut();
            match self.free_op.get() {
                TAKEN => {
                    ops.push(OpState::Waiting(None));
                    ops.len() - 1
                }
                free => {
                    let next = match ops[free] {
                        OpState::Free(next) => next,
                        _ => TAKEN,
                    };
                    self.free_op.set(next);
                    ops[free] = OpState::Waiting(None);
                    free
                }
            }
        };
        self.in_flight.set(self.in_flight.get() + 1);
        self.push(&entry.user_data(index as u64));
        Op {
            ring: self,
            index,
            buf: Some(buf),
        }
    }

    fn free(&self, ops: &mut [OpState], index: usize) {
        ops[index] = OpState::Free(self.free_op.replace(index));
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // The kernel may still write into orphaned buffers: cancel everything and wait for the
        // completions before the buffers (and the ring) go.
        if self.in_flight.get() == 0 {
            return;
        }
        let cancel = opcode::AsyncCancel2::new(CancelBuilder::any())
            .build()
            .user_data(CANCEL);
        self.push(&cancel);
        let wait = Timespec::new().nsec(10_000_000);
        let args = SubmitArgs::new().timespec(&wait);
        // At most about a second: each wait ends after 10 ms without a completion.
        for _ in 0..100 {
            let _ = self.uring.borrow().submitter().submit_with_args(1, &args);
            self.reap();
            if self.in_flight.get() == 0 {
                return;
            }
        }
        tracing::error!(
            left = self.in_flight.get(),
            "io_uring operations still in flight as the ring closes"
        );
        // Leak the buffers rather than let the kernel write into freed memory.
        std::mem::forget(std::mem::take(&mut *self.ops.borrow_mut()));
    }
}

/// The driver task: submits queued entries and reaps completions whenever monoio sees the
/// ring readable or a task queued something, until the ring is stopped.
async fn drive(ring: Rc<Ring>, watch: monoio::net::UnixStream) {
    let mut readable = Box::pin(watch.readable(false));
    loop {
        let fired = poll_fn(|cx| {
            if ring.stopped.get() {
                return Poll::Ready(None);
            }
            let fired = match readable.as_mut().poll(cx) {
                Poll::Ready(result) => Some(result),
                Poll::Pending => None,
            };
            if fired.is_some() || ring.unsubmitted.get() {
                return Poll::Ready(Some(fired));
            }
            ring.driver.set(Some(cx.waker().clone()));
            Poll::Pending
        })
        .await;
        let Some(fired) = fired else {
            break;
        };
        if let Some(result) = fired {
            if let Err(e) = result {
                tracing::error!(error = %e, "watching the io_uring ring failed");
                monoio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            readable.set(watch.readable(false));
        }
        if ring.unsubmitted.get() || ring.uring.borrow_mut().submission().cq_overflow() {
            ring.submit();
        }
        ring.reap();
    }
    // Submit what is left (closes of the last sockets) so the kernel acts on it.
    if ring.unsubmitted.get() {
        ring.submit();
    }
}

/// An operation in flight; completes with the kernel's result and the buffer back.
struct Op<'a, B: 'static> {
    ring: &'a Ring,
    index: usize,
    buf: Option<B>,
}

// Nothing in an `Op` relies on being pinned: the kernel points at the buffer's heap memory,
// not at the `Op`.
impl<B> Unpin for Op<'_, B> {}

impl<B: 'static> Future for Op<'_, B> {
    type Output = (i32, B);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<(i32, B)> {
        let this = self.get_mut();
        let mut ops = this.ring.ops.borrow_mut();
        match &mut ops[this.index] {
            OpState::Done(result) => {
                let result = *result;
                this.ring.free(&mut ops, this.index);
                this.index = TAKEN;
                match this.buf.take() {
                    Some(buf) => Poll::Ready((result, buf)),
                    None => unreachable!("an op's buffer is taken only with its completion"),
                }
            }
            OpState::Waiting(waker) => {
                if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    *waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
            OpState::Orphan(_) | OpState::Free(_) => {
                unreachable!("a live op's entry is waiting or done")
            }
        }
    }
}

impl<B: 'static> Drop for Op<'_, B> {
    fn drop(&mut self) {
        if self.index == TAKEN {
            return;
        }
        let in_flight = {
            let mut ops = self.ring.ops.borrow_mut();
            match ops[self.index] {
                OpState::Done(_) => {
                    self.ring.free(&mut ops, self.index);
                    false
                }
                _ => {
                    ops[self.index] = OpState::Orphan(Box::new(self.buf.take()));
                    true
                }
            }
        };
        if in_flight && !self.ring.stopped.get() {
            let cancel = opcode::AsyncCancel::new(self.index as u64)
                .build()
                .user_data(CANCEL);
            self.ring.push(&cancel);
        }
    }
}

/// A socket in a ring's table; closed through the ring when the last half goes.
pub(crate) struct Socket {
    ring: Rc<Ring>,
    slot: u32,
}

impl Drop for Socket {
    fn drop(&mut self) {
        let close = opcode::Close::new(Fixed(self.slot))
            .build()
            .user_data(CLOSE | u64::from(self.slot));
        self.ring.push(&close);
    }
}

/// Either half of a direct connection (both share the socket).
pub(crate) struct Half(Rc<Socket>);

/// The two halves of an adopted socket.
pub(crate) fn split(socket: Socket) -> (Half, Half) {
    let socket = Rc::new(socket);
    (Half(socket.clone()), Half(socket))
}

fn os_error(result: i32) -> io::Error {
    io::Error::from_raw_os_error(-result)
}

impl Half {
    /// Reads into `buf[buf.len()..end]` (`end` at most its capacity); `Ok(0)` at end of stream.
    pub(crate) async fn read(
        &self,
        mut buf: BytesMut,
        end: usize,
    ) -> (io::Result<usize>, BytesMut) {
        let start = buf.len();
        debug_assert!(start < end && end <= buf.capacity());
        let ptr = buf.spare_capacity_mut().as_mut_ptr().cast::<u8>();
        let len = u32::try_from(end - start).unwrap_or(u32::MAX);
        let entry = opcode::Recv::new(Fixed(self.0.slot), ptr, len).build();
        let (result, mut buf) = self.0.ring.op(entry, buf).await;
        if result < 0 {
            return (Err(os_error(result)), buf);
        }
        let got = result as usize;
        // SAFETY: the kernel wrote `got` bytes right after the initialised part.
        unsafe { buf.set_len(start + got) };
        (Ok(got), buf)
    }

    /// Writes all of `data`.
    pub(crate) async fn write_all<T: IoBuf + 'static>(
        &self,
        mut data: T,
    ) -> (io::Result<usize>, T) {
        let total = data.bytes_init();
        let mut done = 0;
        while done < total {
            // SAFETY: `done` < `bytes_init()`, so the pointer stays inside the buffer.
            let ptr = unsafe { data.read_ptr().add(done) };
            let len = u32::try_from(total - done).unwrap_or(u32::MAX);
            let entry = opcode::Send::new(Fixed(self.0.slot), ptr, len)
                .flags(libc::MSG_NOSIGNAL)
                .build();
            let (result, back) = self.0.ring.op(entry, data).await;
            data = back;
            match result {
                n if n > 0 => done += n as usize,
                0 => return (Err(io::ErrorKind::WriteZero.into()), data),
                n if -n == libc::EINTR => {}
                n => return (Err(os_error(n)), data),
            }
        }
        (Ok(total), data)
    }

    /// Shuts the write side down.
    pub(crate) async fn shutdown(&self) -> io::Result<()> {
        let entry = opcode::Shutdown::new(Fixed(self.0.slot), libc::SHUT_WR).build();
        match self.0.ring.op(entry, ()).await.0 {
            n if n < 0 => Err(os_error(n)),
            _ => Ok(()),
        }
    }
}

/// The process's soft limit on open files.
fn open_files_limit() -> u32 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes into the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return 1024;
    }
    u32::try_from(limit.rlim_cur).unwrap_or(u32::MAX)
}
