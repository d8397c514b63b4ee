//! The [`Handler`] impls: every allowed signature, for zero to six path arguments.
//!
//! One macro expands, per arity, with and without a typed input ([`FromRequest`]) after the
//! path arguments, eight special-argument shapes (none, `Request`, `&Request`, `Responder`,
//! and the four request/responder pairs) times two return kinds (value or future), each next
//! to its [`Sealed`] twin with the same bounds. The local names `request`,
//! `responder` and `captures` are passed in so that the generated bodies and the parameters
//! they use share one hygiene context.

use super::marker::{
    Async, Plain, Req, ReqRef, ReqRefResp, ReqResp, Resp, RespReq, RespReqRef, Shape, Sync,
};
use super::sealed::Sealed;
use super::{Handler, Reply, next_arg};
use crate::convert::{ArgType, FromCapture};
use crate::input::FromRequest;
use postern_core::{IntoResponse, Request, Responder};
use std::future::Future;

macro_rules! handler_impls {
    ([$request:ident, $responder:ident, $captures:ident] $($A:ident),*) => {
        handler_impls!(@shapes [$request, $responder, $captures] [$($A),*] []);
        handler_impls!(@shapes [$request, $responder, $captures] [$($A),*] [I]);
    };

    (@shapes [$request:ident, $responder:ident, $captures:ident] [$($A:ident),*] [$($I:ident)?]) => {
        handler_impls!(@value [$request, $responder, $captures] [$($A),*] [$($I)?] Plain, [], []);
        handler_impls!(@value [$request, $responder, $captures] [$($A),*] [$($I)?] Req, [Request], [$request.clone()]);
        handler_impls!(@value [$request, $responder, $captures] [$($A),*] [$($I)?] ReqRef, [&Request], [$request]);
        handler_impls!(@unit [$request, $responder, $captures] [$($A),*] [$($I)?] Resp, [Responder], [$responder.take()?]);
        handler_impls!(@unit [$request, $responder, $captures] [$($A),*] [$($I)?] ReqResp,
            [Request, Responder], [$request.clone(), $responder.take()?]);
        handler_impls!(@unit [$request, $responder, $captures] [$($A),*] [$($I)?] RespReq,
            [Responder, Request], [$responder.take()?, $request.clone()]);
        handler_impls!(@unit [$request, $responder, $captures] [$($A),*] [$($I)?] ReqRefResp,
            [&Request, Responder], [$request, $responder.take()?]);
        handler_impls!(@unit [$request, $responder, $captures] [$($A),*] [$($I)?] RespReqRef,
            [Responder, &Request], [$responder.take()?, $request]);
    };

    // Shapes without a responder: the handler returns a response (or a future of one).
    (@value [$request:ident, $responder:ident, $captures:ident] [$($A:ident),*] [$($I:ident)?]
        $shape:ident, [$($ty:ty),*], [$($val:expr),*]) => {
        impl<F, R, $($A,)* $($I,)?> Sealed<(fn($($A,)*), fn($($I)?), $shape, Sync)> for F
        where
            F: Fn($($A,)* $($I,)? $($ty,)*) -> R + Send + std::marker::Sync + 'static,
            R: IntoResponse,
            $($A: FromCapture,)*
            $($I: FromRequest,)?
        {
        }

        impl<F, R, $($A,)* $($I,)?> Handler<(fn($($A,)*), fn($($I)?), $shape, Sync)> for F
        where
            F: Fn($($A,)* $($I,)? $($ty,)*) -> R + Send + std::marker::Sync + 'static,
            R: IntoResponse,
            $($A: FromCapture,)*
            $($I: FromRequest,)?
        {
            handler_impls!(@common [$captures] $($A),*);

            fn takes_request() -> bool {
                <$shape as Shape>::TAKES_REQUEST $(|| <$I as FromRequest>::READS_BODY)?
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
                $(let $I: $I = match <$I as FromRequest>::from_request($request) {
                    Ok(input) => input,
                    Err(rejection) => return Some(Reply::Rejected(rejection)),
                };)?
                Some(Reply::ready((self)($($A,)* $($I,)? $($val,)*)))
            }
        }

        impl<F, Fut, $($A,)* $($I,)?> Sealed<(fn($($A,)*), fn($($I)?), $shape, Async)> for F
        where
            F: Fn($($A,)* $($I,)? $($ty,)*) -> Fut + Send + std::marker::Sync + 'static,
            Fut: Future + Send + 'static,
            Fut::Output: IntoResponse,
            $($A: FromCapture,)*
            $($I: FromRequest,)?
        {
        }

        impl<F, Fut, $($A,)* $($I,)?> Handler<(fn($($A,)*), fn($($I)?), $shape, Async)> for F
        where
            F: Fn($($A,)* $($I,)? $($ty,)*) -> Fut + Send + std::marker::Sync + 'static,
            Fut: Future + Send + 'static,
            Fut::Output: IntoResponse,
            $($A: FromCapture,)*
            $($I: FromRequest,)?
        {
            handler_impls!(@common [$captures] $($A),*);

            fn takes_request() -> bool {
                <$shape as Shape>::TAKES_REQUEST $(|| <$I as FromRequest>::READS_BODY)?
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
                $(let $I: $I = match <$I as FromRequest>::from_request($request) {
                    Ok(input) => input,
                    Err(rejection) => return Some(Reply::Rejected(rejection)),
                };)?
                Some(Reply::pending((self)($($A,)* $($I,)? $($val,)*)))
            }
        }
    };

    // Shapes with a responder: the handler returns `()` (or a future of `()`).
    (@unit [$request:ident, $responder:ident, $captures:ident] [$($A:ident),*] [$($I:ident)?]
        $shape:ident, [$($ty:ty),*], [$($val:expr),*]) => {
        impl<F, $($A,)* $($I,)?> Sealed<(fn($($A,)*), fn($($I)?), $shape, Sync)> for F
        where
            F: Fn($($A,)* $($I,)? $($ty,)*) + Send + std::marker::Sync + 'static,
            $($A: FromCapture,)*
            $($I: FromRequest,)?
        {
        }

        impl<F, $($A,)* $($I,)?> Handler<(fn($($A,)*), fn($($I)?), $shape, Sync)> for F
        where
            F: Fn($($A,)* $($I,)? $($ty,)*) + Send + std::marker::Sync + 'static,
            $($A: FromCapture,)*
            $($I: FromRequest,)?
        {
            handler_impls!(@common [$captures] $($A),*);

            fn takes_request() -> bool {
                <$shape as Shape>::TAKES_REQUEST $(|| <$I as FromRequest>::READS_BODY)?
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
                $(let $I: $I = match <$I as FromRequest>::from_request($request) {
                    Ok(input) => input,
                    Err(rejection) => return Some(Reply::Rejected(rejection)),
                };)?
                (self)($($A,)* $($I,)? $($val,)*);
                Some(Reply::Ready(None))
            }
        }

        impl<F, Fut, $($A,)* $($I,)?> Sealed<(fn($($A,)*), fn($($I)?), $shape, Async)> for F
        where
            F: Fn($($A,)* $($I,)? $($ty,)*) -> Fut + Send + std::marker::Sync + 'static,
            Fut: Future<Output = ()> + Send + 'static,
            $($A: FromCapture,)*
            $($I: FromRequest,)?
        {
        }

        impl<F, Fut, $($A,)* $($I,)?> Handler<(fn($($A,)*), fn($($I)?), $shape, Async)> for F
        where
            F: Fn($($A,)* $($I,)? $($ty,)*) -> Fut + Send + std::marker::Sync + 'static,
            Fut: Future<Output = ()> + Send + 'static,
            $($A: FromCapture,)*
            $($I: FromRequest,)?
        {
            handler_impls!(@common [$captures] $($A),*);

            fn takes_request() -> bool {
                <$shape as Shape>::TAKES_REQUEST $(|| <$I as FromRequest>::READS_BODY)?
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
                $(let $I: $I = match <$I as FromRequest>::from_request($request) {
                    Ok(input) => input,
                    Err(rejection) => return Some(Reply::Rejected(rejection)),
                };)?
                Some(Reply::pending_unit((self)($($A,)* $($I,)? $($val,)*)))
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
