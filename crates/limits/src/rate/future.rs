//! [`RateFuture`]: the response future of the layers that count requests
//! against the rate limit ([`RateLimitService`](super::RateLimitService) and
//! [`LimitsService`](crate::stack::LimitsService)).

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::Response;
use pin_project_lite::pin_project;
use tower_service::Service;

use super::RateDecision;
use crate::body::ResponseBody;
use crate::future::ResponseFuture;
use crate::rejection::Rejection;

pin_project! {
    /// The inner service's future or a refusal, decided in `call` (the
    /// in-memory store: no allocation, no extra poll); or, while a shared
    /// store's answer is awaited, the decision with the inner service and
    /// the request it will call once admitted.
    pub struct RateFuture<S, R>
    where
        S: Service<R>,
    {
        #[pin]
        state: State<S, R>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, R>
    where
        S: Service<R>,
    {
        Decided { #[pin] future: ResponseFuture<S::Future> },
        // Boxed: only a shared store's requests wait here, and inline the
        // service and the request would make every request's future (and
        // each move of it) as large as they are.
        Deciding { deciding: Box<Deciding<S, R>> },
    }
}

/// A request waiting for a shared store's decision.
struct Deciding<S, R> {
    decision: RateDecision,
    client: IpAddr,
    // What the checks after the rate limit answered (they ran in `call`; a
    // rate refusal still answers first).
    then: Result<(), Rejection>,
    call: Option<(S, R)>,
}

impl<S: Service<R>, R> std::fmt::Debug for RateFuture<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.state {
            State::Decided { .. } => f.write_str("RateFuture::Decided"),
            State::Deciding { deciding } => f
                .debug_tuple("RateFuture::Deciding")
                .field(&deciding.decision)
                .finish(),
        }
    }
}

impl<S: Service<R>, R> RateFuture<S, R> {
    #[inline]
    pub(crate) fn decided(future: ResponseFuture<S::Future>) -> Self {
        RateFuture {
            state: State::Decided { future },
        }
    }

    pub(crate) fn deciding(
        decision: RateDecision,
        client: IpAddr,
        then: Result<(), Rejection>,
        service: S,
        request: R,
    ) -> Self {
        RateFuture {
            state: State::Deciding {
                deciding: Box::new(Deciding {
                    decision,
                    client,
                    then,
                    call: Some((service, request)),
                }),
            },
        }
    }
}

impl<S, R, B> Future for RateFuture<S, R>
where
    S: Service<R, Response = Response<B>>,
{
    type Output = Result<Response<ResponseBody<B>>, S::Error>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let next = match self.as_mut().project().state.project() {
                StateProj::Decided { future } => return future.poll(cx),
                StateProj::Deciding { deciding } => {
                    let Deciding {
                        decision,
                        client,
                        then,
                        call,
                    } = &mut **deciding;
                    let verdict = ready!(Pin::new(decision).poll(cx))
                        .map_err(|limited| super::rejection(*client, limited))
                        .and(*then);
                    match (verdict, call.take()) {
                        (Ok(()), Some((mut service, request))) => {
                            ResponseFuture::inner(service.call(request))
                        }
                        (Err(rejection), _) => ResponseFuture::reject(rejection),
                        // Polled again after the call was made: cannot
                        // happen, as the state moved on with the call.
                        (Ok(()), None) => ResponseFuture::reject(Rejection::MissingPeer),
                    }
                }
            };
            self.as_mut()
                .project()
                .state
                .set(State::Decided { future: next });
        }
    }
}
