//! The webhook receiver and the admin endpoints as `tower::Service`s, so they nest in axum,
//! take tower layers and can be driven with `oneshot`. They never fail: every error is a
//! response, so `Error` is `Infallible` and `poll_ready` is always ready.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use botwire_core::BoxError;
use bytes::Bytes;
use http::{Request, Response};

use crate::respond::Body;
use crate::{Admin, App};

/// The future of a botwire service: boxed, since each answer is an `async fn` of its own.
pub type ResponseFuture = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

/// `Service` for a cheap-to-clone type whose `handle(request)` answers every request.
macro_rules! answering_service {
    ($service:ty) => {
        impl<B> tower_service::Service<Request<B>> for $service
        where
            B: http_body::Body<Data = Bytes> + Send + 'static,
            B::Error: Into<BoxError>,
        {
            type Response = Response<Body>;
            type Error = Infallible;
            type Future = ResponseFuture;

            fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
                Poll::Ready(Ok(()))
            }

            fn call(&mut self, request: Request<B>) -> Self::Future {
                let service = self.clone();
                Box::pin(async move { Ok(service.handle(request).await) })
            }
        }
    };
}

answering_service!(App);
answering_service!(Admin);
