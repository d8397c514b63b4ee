use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri, Version};
use http_body::Frame;
use http_body_util::{BodyExt, Full};
use tower::{Layer, ServiceExt, service_fn};

use super::*;
use crate::rejection::header_list;
use crate::size::body::BoxError;
use http_body_util::LengthLimitError;

type TestBody = Full<Bytes>;

/// An app that reads the whole body and answers 200 with its length, or 413
/// when the body limit fails it.
async fn app(req: Request<RequestBody<TestBody>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body) = match req.into_body().collect().await {
        Ok(collected) => (StatusCode::OK, collected.to_bytes().len().to_string()),
        Err(error) if is_body_too_large(&*error) => (StatusCode::PAYLOAD_TOO_LARGE, String::new()),
        Err(_) => (StatusCode::BAD_REQUEST, String::new()),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    Ok(response)
}

fn limits() -> SizeLimits {
    SizeLimits::disabled()
        .with_max_url(Some(20))
        .with_max_header_fields(Some(3))
        .with_max_header_field(Some(20))
        .with_max_total_header(Some(40))
        .with_max_body(Some(10))
}

struct Case {
    name: &'static str,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: &'static str,
    version: Version,
    status: StatusCode,
}

fn case(name: &'static str, status: StatusCode) -> Case {
    Case {
        name,
        path: "/".into(),
        headers: Vec::new(),
        body: "",
        version: Version::HTTP_11,
        status,
    }
}

async fn run(limits: SizeLimits, case: &Case) -> Response<crate::ResponseBody<Full<Bytes>>> {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri(case.path.as_str())
        .version(case.version);
    for (name, value) in &case.headers {
        builder = builder.header(*name, value.as_str());
    }
    let req = builder.body(Full::new(Bytes::from(case.body))).unwrap();
    SizeLimitLayer::new(limits)
        .layer(service_fn(app))
        .oneshot(req)
        .await
        .unwrap()
}

#[tokio::test]
async fn table() {
    let mut cases = vec![
        case("nothing to refuse", StatusCode::OK),
        Case {
            // "/" + 19 = 20 bytes: equal to the limit passes.
            path: format!("/{}", "a".repeat(19)),
            ..case("URL at the limit", StatusCode::OK)
        },
        Case {
            path: format!("/{}", "a".repeat(20)),
            ..case("URL over the limit", StatusCode::URI_TOO_LONG)
        },
        Case {
            path: format!("/?{}", "q".repeat(19)),
            ..case("query counts", StatusCode::URI_TOO_LONG)
        },
        Case {
            headers: vec![("a", "1".into()), ("b", "2".into()), ("c", "3".into())],
            ..case("header count at the limit", StatusCode::OK)
        },
        Case {
            headers: vec![
                ("a", "1".into()),
                ("a", "2".into()),
                ("b", "3".into()),
                ("c", "4".into()),
            ],
            ..case(
                "duplicates count",
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            )
        },
        Case {
            // 4 + 1 + 15 = 20
            headers: vec![("abcd", "v".repeat(15))],
            ..case("field at the limit", StatusCode::OK)
        },
        Case {
            headers: vec![("abcd", "v".repeat(16))],
            ..case(
                "field over the limit",
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            )
        },
        Case {
            // (1 + 14 + 4) * 2 + 2 (the empty line ending an HTTP/1 head) = 40
            headers: vec![("a", "v".repeat(14)), ("b", "v".repeat(14))],
            ..case("total at the limit", StatusCode::OK)
        },
        Case {
            headers: vec![("a", "v".repeat(14)), ("b", "v".repeat(15))],
            ..case(
                "total over the limit",
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            )
        },
        Case {
            body: "0123456789",
            ..case("body at the limit", StatusCode::OK)
        },
        Case {
            body: "0123456789a",
            ..case(
                "body over the limit (size hint)",
                StatusCode::PAYLOAD_TOO_LARGE,
            )
        },
        Case {
            headers: vec![("content-length", "11".into())],
            ..case(
                "declared length over the limit",
                StatusCode::PAYLOAD_TOO_LARGE,
            )
        },
        Case {
            path: format!("/{}", "a".repeat(20)),
            headers: vec![("abcd", "v".repeat(16))],
            body: "0123456789a",
            ..case("the URL is checked first", StatusCode::URI_TOO_LONG)
        },
        Case {
            headers: vec![("abcd", "v".repeat(16)), ("content-length", "11".into())],
            ..case(
                "headers before the body",
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            )
        },
    ];
    for version in [Version::HTTP_10, Version::HTTP_2] {
        cases.push(Case {
            version,
            path: format!("/{}", "a".repeat(20)),
            ..case("other versions", StatusCode::URI_TOO_LONG)
        });
    }
    for case in &cases {
        let response = run(limits(), case).await;
        assert_eq!(response.status(), case.status, "{}", case.name);
        if case.status != StatusCode::OK {
            let mut expected = vec![
                ("content-type", "application/x-empty"),
                ("content-length", "0"),
            ];
            // No connection header on HTTP/2.
            if case.version != Version::HTTP_2 {
                expected.push(("connection", "close"));
            }
            assert_eq!(header_list(response.headers()), expected, "{}", case.name);
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert!(body.is_empty(), "{}", case.name);
        }
        // Every limit off: everything passes.
        let response = run(SizeLimits::disabled(), case).await;
        let expect = if case.headers.iter().any(|(n, _)| *n == "content-length") {
            // Full's body is shorter than its declared length: not our business.
            response.status()
        } else {
            StatusCode::OK
        };
        assert_eq!(response.status(), expect, "{} (disabled)", case.name);
    }
}

#[tokio::test]
async fn streamed_body_over_the_limit_fails_without_buffering() {
    // A body of unknown length (no size hint) sending 4 bytes at a time.
    let body = Trickle { frames: 100 };
    let mut seen = 0usize;
    let mut limited = std::pin::pin!(RequestBody::new(body, Some(10)));
    loop {
        match limited.frame().await {
            Some(Ok(frame)) => seen += frame.into_data().map(|d| d.len()).unwrap_or(0),
            Some(Err(error)) => {
                assert!(is_body_too_large(&*error));
                break;
            }
            None => panic!("the body ended without hitting the limit"),
        }
    }
    // Two frames (8 bytes) pass; the third would make 12 > 10 and is dropped.
    assert_eq!(seen, 8);
}

#[test]
fn other_body_errors_are_not_too_large() {
    let error: BoxError = "connection reset".into();
    assert!(!is_body_too_large(&*error));
    #[derive(Debug)]
    struct Wrapper(LengthLimitError);
    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("wrapped")
        }
    }
    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    let limited = RequestBody::new(Full::new(Bytes::from("12345")), Some(1));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let error = rt.block_on(limited.collect()).unwrap_err();
    let inner = match error.downcast::<LengthLimitError>() {
        Ok(inner) => *inner,
        Err(other) => panic!("unexpected {other}"),
    };
    assert!(is_body_too_large(&Wrapper(inner)));
}

#[tokio::test]
async fn connect_authority_is_measured() {
    let req = Request::builder()
        .method(Method::CONNECT)
        .uri("a-very-long-host-name.example:443")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = SizeLimitLayer::new(SizeLimits::disabled().with_max_url(Some(20)))
        .layer(service_fn(app))
        .oneshot(req)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::URI_TOO_LONG);
}

#[test]
fn target_length_is_the_target_as_sent() {
    let len = |uri: &str, version| target_len(&uri.parse::<Uri>().expect("a URI"), version);
    let table = [
        ("/a?b=c", Version::HTTP_11, 6),
        ("http://example.com:8080/a?b=c", Version::HTTP_11, 29),
        ("http://example.com:8080/a?b=c", Version::HTTP_10, 29),
        // The `http` crate gives an absolute-form target without a path
        // the path `/`, counted too.
        ("http://h", Version::HTTP_11, 9),
        // HTTP/2's URI is built from :scheme, :authority and :path; only
        // :path was the target.
        ("https://example.com/a?b=c", Version::HTTP_2, 6),
        // CONNECT's authority-form.
        ("example.com:443", Version::HTTP_11, 15),
    ];
    for (uri, version, expected) in table {
        assert_eq!(len(uri, version), expected, "{uri} {version:?}");
    }
}

#[test]
fn header_total_formula_matches_the_docs() {
    // name + value + 4 per field, and 2 for the empty line ending an HTTP/1
    // head (HTTP/2 has none).
    let check = |max| SizeCheck::new(SizeLimits::disabled().with_max_total_header(Some(max)));
    for (version, total) in [
        (Version::HTTP_10, 14),
        (Version::HTTP_11, 14),
        (Version::HTTP_2, 12),
    ] {
        let mut req = Request::new(Full::new(Bytes::new()));
        *req.version_mut() = version;
        req.headers_mut().insert(
            HeaderName::from_static("x-a"),
            HeaderValue::from_static("12345"),
        );
        assert!(check(total).check(&req).is_ok(), "{version:?} at {total}");
        assert!(
            check(total - 1).check(&req).is_err(),
            "{version:?} over {}",
            total - 1
        );
    }
}

/// A body of unknown length sending `frames` frames of 4 bytes each.
struct Trickle {
    frames: usize,
}

impl http_body::Body for Trickle {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.frames == 0 {
            return std::task::Poll::Ready(None);
        }
        self.frames -= 1;
        std::task::Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"abcd")))))
    }
}
