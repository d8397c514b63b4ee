//! The [`Handler`] impls: every allowed signature, for zero to six path arguments.
//!
//! One macro expands, per arity, eight special-argument shapes (none, `Request`, `&Request`,
//! `Responder`, and the four request/responder pairs) times two return kinds (value or
//! future), each next to its [`Sealed`] twin with the same bounds. The local names `request`,
//! `responder` and `captures` are passed in so that the generated bodies and the parameters
//! they use share one hygiene context.

use super::marker::{
    Async, Plain, Req, ReqRef, ReqRefResp, ReqResp, Resp, RespReq, RespReqRef, Shape, Sync,
};
use super::sealed::Sealed;
use super::{Handler, Reply, next_arg};
use crate::convert::{ArgType, FromCapture};
use postern_core::{IntoResponse, Request, Responder};
use std::future::Future;

macro_rules! handler_impls {
    ([$request:ident, $responder:ident, $captures:ident] $($A:ident),*) => {
        handler_impls!(@value [$request, $responder, $captures] [$($A),*] Plain, [], []);
        handler_impls!(@value [$request, $responder, $captures] [$($A),*] Req, [Request], [$request.clone()]);
        handler_impls!(@value [$request, $responder, $captures] [$($A),*] ReqRef, [&Request], [$request]);
        handler_impls!(@unit [$request, $responder, $captures] [$($A),*] Resp, [Responder], [$responder.take()?]);
        handler_impls!(@unit [$request, $responder, $captures] [$($A),*] ReqResp,
            [Request, Responder], [$request.clone(), $responder.take()?]);
        handler_impls!(@unit [$request, $responder, $captures] [$($A),*] RespReq,
            [Responder, Request], [$responder.take()?, $request.clone()]);
        handler_impls!(@unit [$request, $responder, $captures] [$($A),*] ReqRefResp,
            [&Request, Responder], [$request, $responder.take()?]);
        handler_impls!(@unit [$request, $responder, $captures] [$($A),*] RespReqRef,
            [Responder, &Request], [$responder.take()?, $request]);
    };

    // Shapes without a responder: the handler returns a response (or a future of one).
    (@value [$request:ident, $responder:ident, $captures:ident] [$($A:ident),*]
        $shape:ident, [$($ty:ty),*], [$($val:expr),*]) => {
        impl<F, R, $($A,)*> Sealed<(fn($($A,)*), $shape, Sync)> for F
        where
            F: Fn($($A,)* $($ty,)*) -> R + Send + std::marker::Sync + 'static,
            R: IntoResponse,
            $($A: FromCapture,)*
        {
        }

        impl<F, R, $($A,)*> Handler<(fn($($A,)*), $shape, Sync)> for F
        where
            F: Fn($($A,)* $($ty,)*) -> R + Send + std::marker::Sync + 'static,
            R: IntoResponse,
            $($A: FromCapture,)*
        {
            handler_impls!(@common [$captures] $($A),*);

            fn takes_request() -> bool {
                <$shape as Shape>::TAKES_REQUEST
            }

            #[allow(non_snake_case, unused_variables, unused_mut)]
            fn call(
                &self,
                $captures: &[&str],
                $request: &Request,
                $responder: &mut Option<Responder>,
            ) -> Option<Reply> {
                let mut iter = $captures.iter();
                $(let $A: $A = next_arg(&mut iter)?;)*
                Some(Reply::ready((self)($($A,)* $($val,)*)))
            }
        }

        impl<F, Fut, $($A,)*> Sealed<(fn($($A,)*), $shape, Async)> for F
        where
            F: Fn($($A,)* $($ty,)*) -> Fut + Send + std::marker::Sync + 'static,
            Fut: Future + Send + 'static,
            Fut::Output: IntoResponse,
            $($A: FromCapture,)*
        {
        }

        impl<F, Fut, $($A,)*> Handler<(fn($($A,)*), $shape, Async)> for F
        where
            F: Fn($($A,)* $($ty,)*) -> Fut + Send + std::marker::Sync + 'static,
            Fut: Future + Send + 'static,
            Fut::Output: IntoResponse,
            $($A: FromCapture,)*
        {
            handler_impls!(@common [$captures] $($A),*);

            fn takes_request() -> bool {
                <$shape as Shape>::TAKES_REQUEST
            }

            #[allow(non_snake_case, unused_variables, unused_mut)]
            fn call(
                &self,
                $captures: &[&str],
                $request: &Request,
                $responder: &mut Option<Responder>,
            ) -> Option<Reply> {
                let mut iter = $captures.iter();
                $(let $A: $A = next_arg(&mut iter)?;)*
                Some(Reply::pending((self)($($A,)* $($val,)*)))
            }
        }
    };

    // Shapes with a responder: the handler returns `()` (or a future of `()`).
    (@unit [$request:ident, $responder:ident, $captures:ident] [$($A:ident),*]
        $shape:ident, [$($ty:ty),*], [$($val:expr),*]) => {
        impl<F, $($A,)*> Sealed<(fn($($A,)*), $shape, Sync)> for F
        where
            F: Fn($($A,)* $($ty,)*) + Send + std::marker::Sync + 'static,
            $($A: FromCapture,)*
        {
        }

        impl<F, $($A,)*> Handler<(fn($($A,)*), $shape, Sync)> for F
        where
            F: Fn($($A,)* $($ty,)*) + Send + std::marker::Sync + 'static,
            $($A: FromCapture,)*
        {
            handler_impls!(@common [$captures] $($A),*);

            fn takes_request() -> bool {
                <$shape as Shape>::TAKES_REQUEST
            }

            #[allow(non_snake_case, unused_variables, unused_mut)]
            fn call(
                &self,
                $captures: &[&str],
                $request: &Request,
                $responder: &mut Option<Responder>,
            ) -> Option<Reply> {
                let mut iter = $captures.iter();
                $(let $A: $A = next_arg(&mut iter)?;)*
                (self)($($A,)* $($val,)*);
                Some(Reply::Ready(None))
            }
        }

        impl<F, Fut, $($A,)*> Sealed<(fn($($A,)*), $shape, Async)> for F
        where
            F: Fn($($A,)* $($ty,)*) -> Fut + Send + std::marker::Sync + 'static,
            Fut: Future<Output = ()> + Send + 'static,
            $($A: FromCapture,)*
        {
        }

        impl<F, Fut, $($A,)*> Handler<(fn($($A,)*), $shape, Async)> for F
        where
            F: Fn($($A,)* $($ty,)*) -> Fut + Send + std::marker::Sync + 'static,
            Fut: Future<Output = ()> + Send + 'static,
            $($A: FromCapture,)*
        {
            handler_impls!(@common [$captures] $($A),*);

            fn takes_request() -> bool {
                <$shape as Shape>::TAKES_REQUEST
            }

            #[allow(non_snake_case, unused_variables, unused_mut)]
            fn call(
                &self,
                $captures: &[&str],
                $request: &Request,
                $responder: &mut Option<Responder>,
            ) -> Option<Reply> {
                let mut iter = $captures.iter();
                $(let $A: $A = next_arg(&mut iter)?;)*
                Some(Reply::pending_unit((self)($($A,)* $($val,)*)))
            }
        }
    };

    (@common [$captures:ident] $($A:ident),*) => {
        fn arg_types() -> Vec<ArgType> {
            vec![$(ArgType::of::<$A>()),*]
        }

        #[allow(non_snake_case, unused_variables, unused_mut)]
        fn converts($captures: &[&str]) -> bool {
            let mut iter = $captures.iter();
            $(let Some($A) = next_arg::<$A>(&mut iter) else { return false; };)*
            true
        }
    };
}

handler_impls!([request, responder, captures]);
handler_impls!([request, responder, captures] A1);
handler_impls!([request, responder, captures] A1, A2);
handler_impls!([request, responder, captures] A1, A2, A3);
handler_impls!([request, responder, captures] A1, A2, A3, A4);
handler_impls!([request, responder, captures] A1, A2, A3, A4, A5);
handler_impls!([request, responder, captures] A1, A2, A3, A4, A5, A6);
