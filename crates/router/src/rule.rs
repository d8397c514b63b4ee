//! Registered rules (Qt's `QHttpServerRouterRule`): pattern, methods, compiled path regex,
//! extra conditions and the handler.

use std::fmt;
use std::sync::Arc;

use postern_core::{Methods, Request};
use regex_lite::Regex;

use crate::convert::ArgType;
use crate::fast::FastMatcher;
use crate::handler::DynHandler;
use crate::inline::Captures;

/// A rule's position in registration order; earlier rules win.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleId(pub(crate) u32);

impl RuleId {
    /// The registration index (0 for the first rule).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// An extra condition a rule checks after its method and path match (Qt's
/// `QHttpServerRouterRule::matches()` override point).
///
/// Implemented for closures `Fn(&Request) -> bool`. A rule whose condition fails does not
/// match, and matching goes on with the next rule.
///
/// ```
/// use postern_core::Request;
/// use postern_router::{HttpServer, RuleCondition};
///
/// /// Matches only requests with this query parameter (Qt's `QueryRequireRouterRule`).
/// struct RequireQuery(&'static str);
///
/// impl RuleCondition for RequireQuery {
///     fn matches(&self, request: &Request) -> bool {
///         request.query_value(self.0).is_some()
///     }
/// }
///
/// let mut server = HttpServer::new();
/// server.route("/search", || "results")?.when(RequireQuery("q"));
/// server.route("/search", || "add ?q=")?;
/// server
///     .route("/admin", || "hi")?
///     .when(|request: &Request| request.value("x-admin").is_some());
/// # Ok::<(), postern_router::RouteError>(())
/// ```
pub trait RuleCondition: Send + Sync + 'static {
    /// Whether the rule applies to `request`.
    fn matches(&self, request: &Request) -> bool;
}

impl<F> RuleCondition for F
where
    F: Fn(&Request) -> bool + Send + Sync + 'static,
{
    fn matches(&self, request: &Request) -> bool {
        self(request)
    }
}

/// How a rule matches the path after its literal prefix.
pub(crate) enum PathMatcher {
    /// No path argument: nothing may follow the prefix.
    Literal,
    /// Default converters in an unambiguous layout, scanned without a regex, optionally
    /// followed by a user converter's capture at the very end (one search over the tail).
    Fast(FastMatcher),
    /// Anything else: the anchored regex, with the group index of each argument. The only
    /// matchers that allocate per call (`regex-lite`'s `captures` builds its group slots).
    Regex { regex: Regex, groups: Vec<usize> },
    /// A user converter whose regex asserts something about what comes before it (`^`,
    /// `\b`, `\B`, `\A`, `\<`, `\>`): the rule's whole-path regex, run on the whole path,
    /// so the assertion sees the path as Qt's `pathRegexp` does, not only what follows the
    /// literal prefix.
    Whole { regex: Regex, groups: Vec<usize> },
}

/// A registered rule.
pub struct Rule {
    pub(crate) pattern: String,
    pub(crate) methods: Methods,
    pub(crate) arg_types: Vec<ArgType>,
    /// Bytes of literal prefix, already checked by the index.
    pub(crate) prefix_len: usize,
    /// Matches the path after the prefix.
    pub(crate) matcher: PathMatcher,
    pub(crate) path_regex: String,
    pub(crate) conditions: Vec<Box<dyn RuleCondition>>,
    pub(crate) handler: Arc<dyn DynHandler>,
    /// The handler reads the body itself, as a stream.
    pub(crate) stream_body: bool,
}

impl Rule {
    /// The path pattern as registered.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The methods the rule answers.
    pub fn methods(&self) -> Methods {
        self.methods
    }

    /// The handler's path-argument types, in order.
    pub fn arg_types(&self) -> &[ArgType] {
        &self.arg_types
    }

    /// The anchored regex the whole decoded path must match, as Qt would log it
    /// (`^/user/(?P<a0>[+-]?\d+)$`). Literal text is escaped.
    pub fn path_regex(&self) -> &str {
        &self.path_regex
    }

    /// How many extra conditions the rule checks.
    pub fn condition_count(&self) -> usize {
        self.conditions.len()
    }

    /// Whether `path` (decoded, starting with the rule's literal prefix as the index
    /// guarantees) matches; on success the captures are in `captures`.
    pub(crate) fn match_path<'p>(&self, path: &'p str, captures: &mut Captures<'p>) -> bool {
        captures.clear();
        let Some(rest) = path.get(self.prefix_len..) else {
            return false;
        };
        match &self.matcher {
            PathMatcher::Literal => rest.is_empty(),
            PathMatcher::Fast(fast) => fast.matches(rest, captures),
            PathMatcher::Regex { regex, groups } => {
                Self::regex_match(regex, groups, rest, captures)
            }
            PathMatcher::Whole { regex, groups } => {
                Self::regex_match(regex, groups, path, captures)
            }
        }
    }

    fn regex_match<'p>(
        regex: &Regex,
        groups: &[usize],
        text: &'p str,
        captures: &mut Captures<'p>,
    ) -> bool {
        let Some(found) = regex.captures(text) else {
            return false;
        };
        for &group in groups {
            captures.push(found.get(group).map_or("", |m| m.as_str()));
        }
        true
    }

    pub(crate) fn conditions_hold(&self, request: &Request) -> bool {
        self.conditions
            .iter()
            .all(|condition| condition.matches(request))
    }
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rule")
            .field("pattern", &self.pattern)
            .field("methods", &self.methods)
            .field("path_regex", &self.path_regex)
            .field("arg_types", &self.arg_types)
            .field("conditions", &self.conditions.len())
            .finish_non_exhaustive()
    }
}

/// The rule [`HttpServer::route`](crate::HttpServer::route) just registered: read it, or add
/// conditions with [`when`](Self::when) (Qt returns the rule pointer for the same purpose).
///
/// Derefs to [`Rule`].
#[derive(Debug)]
pub struct RuleHandle<'a> {
    pub(crate) id: RuleId,
    pub(crate) rule: &'a mut Rule,
}

impl RuleHandle<'_> {
    /// The rule's id.
    pub fn id(&self) -> RuleId {
        self.id
    }

    /// Adds a condition: the rule then matches only requests for which every condition holds.
    pub fn when(self, condition: impl RuleCondition) -> Self {
        self.rule.conditions.push(Box::new(condition));
        self
    }

    /// The handler reads the request body itself, chunk by chunk, with
    /// [`Request::body_stream`](postern_core::Request::body_stream): it is not
    /// read into memory first, so an upload of any size keeps memory flat
    /// ([`Request::body`](postern_core::Request::body) is then empty).
    ///
    /// ```
    /// use postern_core::Request;
    /// use postern_router::HttpServer;
    ///
    /// let mut server = HttpServer::new();
    /// server
    ///     .route("/upload", |request: Request| async move {
    ///         let mut body = request.body_stream().expect("a streamed body");
    ///         let mut bytes = 0;
    ///         while let Some(Ok(chunk)) = body.chunk().await {
    ///             bytes += chunk.len();
    ///         }
    ///         bytes.to_string()
    ///     })?
    ///     .stream_body();
    /// # Ok::<(), postern_router::RouteError>(())
    /// ```
    pub fn stream_body(self) -> Self {
        self.rule.stream_body = true;
        self
    }
}

impl std::ops::Deref for RuleHandle<'_> {
    type Target = Rule;

    fn deref(&self) -> &Rule {
        self.rule
    }
}
