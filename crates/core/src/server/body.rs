//! [`ServerBody`]: the response body the server hands hyper.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::access::AccessEntry;
use super::activity::InFlight;

pin_project! {
    #[project = KindProj]
    #[derive(Debug)]
    enum Kind<B> {
        Service {
            #[pin]
            body: B,
            in_flight: Option<InFlight>,
        },
        Own {
            bytes: Option<Bytes>,
        },
    }
}

pin_project! {
    /// A service's response body, or a body of the server's own (a rejection).
    ///
    /// While the service's body is being sent the connection counts a request
    /// in flight, so keep-alive and shutdown never cut a response short.
    #[derive(Debug)]
    pub struct ServerBody<B> {
        #[pin]
        kind: Kind<B>,
        // The request's access log entry (log on only): written when the
        // body ends or is dropped.
        access: Option<Box<AccessEntry>>,
    }
}

impl<B> ServerBody<B> {
    pub(crate) fn service(body: B, in_flight: InFlight) -> Self {
        ServerBody {
            kind: Kind::Service {
                body,
                in_flight: Some(in_flight),
            },
            access: None,
        }
    }

    pub(crate) fn own(bytes: Bytes) -> Self {
        ServerBody {
            kind: Kind::Own {
                bytes: (!bytes.is_empty()).then_some(bytes),
            },
            access: None,
        }
    }
}

impl<B: Body<Data = Bytes>> ServerBody<B> {
    /// Give the body its request's access log entry; an empty body, or the
    /// body of a HEAD response (which hyper never sends), is complete
    /// already.
    pub(crate) fn set_access(&mut self, entry: Option<Box<AccessEntry>>) {
        if let Some(mut entry) = entry {
            if self.is_end_stream() || entry.is_head() {
                entry.complete();
            }
            self.access = Some(entry);
        }
    }
}

impl<B: Body<Data = Bytes>> Body for ServerBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.project();
        let polled = match this.kind.project() {
            KindProj::Service {
                mut body,
                in_flight,
            } => {
                if let Some(in_flight) = in_flight.as_mut() {
                    in_flight.pulled();
                }
                let polled = body.as_mut().poll_frame(cx);
                match &polled {
                    Poll::Ready(Some(Ok(frame))) => {
                        if frame.is_data()
                            && let Some(in_flight) = in_flight.as_mut()
                        {
                            in_flight.handed();
                        }
                    }
                    Poll::Ready(None) | Poll::Ready(Some(Err(_))) => {
                        in_flight.take();
                    }
                    Poll::Pending => {}
                }
                if let (Some(entry), Poll::Ready(Some(Ok(_)))) = (this.access.as_mut(), &polled)
                    && body.is_end_stream()
                {
                    entry.complete();
                }
                polled
            }
            KindProj::Own { bytes } => {
                // The one frame is the whole body.
                if let Some(entry) = this.access.as_mut() {
                    entry.complete();
                }
                Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b))))
            }
        };
        if let Some(entry) = this.access.as_mut() {
            match &polled {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        entry.sent(data.len());
                    }
                }
                Poll::Ready(None) => {
                    entry.complete();
                    // Written now: the response is done.
                    this.access.take();
                }
                Poll::Ready(Some(Err(_))) => {
                    this.access.take();
                }
                Poll::Pending => {}
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Service { body, .. } => body.is_end_stream(),
            Kind::Own { bytes } => bytes.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Service { body, .. } => body.size_hint(),
            Kind::Own { bytes } => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
        }
    }
}
