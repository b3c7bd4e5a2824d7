//! Requests sent on one connection without waiting for each answer.
//!
//! tokio-postgres writes a request when its future is first polled and matches answers to
//! requests in order, so several requests can be in flight on one connection. The ingest
//! uses this to encode the next rows while the server inserts the previous ones.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// A request in flight, or one whose answer came back when it was sent.
enum Sent<'a, T> {
    Waiting(Pin<Box<dyn Future<Output = T> + Send + 'a>>),
    Answered(T),
}

/// Requests sent in order, their answers collected in the same order.
pub(super) struct Pipeline<'a, T> {
    sent: Vec<Sent<'a, T>>,
}

impl<'a, T> Pipeline<'a, T> {
    /// An empty pipeline.
    pub(super) fn new() -> Self {
        Pipeline { sent: Vec::new() }
    }

    /// Sends `request` now (polls it once) and keeps it for [`answers`](Self::answers).
    pub(super) async fn send(&mut self, request: impl Future<Output = T> + Send + 'a) {
        let mut request: Pin<Box<dyn Future<Output = T> + Send + 'a>> = Box::pin(request);
        let first = std::future::poll_fn(|cx| Poll::Ready(request.as_mut().poll(cx))).await;
        self.sent.push(match first {
            Poll::Ready(answer) => Sent::Answered(answer),
            Poll::Pending => Sent::Waiting(request),
        });
    }

    /// Every answer, in the order the requests were sent.
    pub(super) async fn answers(self) -> Vec<T> {
        let mut answers = Vec::with_capacity(self.sent.len());
        for sent in self.sent {
            answers.push(match sent {
                Sent::Waiting(request) => request.await,
                Sent::Answered(answer) => answer,
            });
        }
        answers
    }
}
