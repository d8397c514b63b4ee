//! [`Router`]: the ordered rule list, its literal-prefix index and the converter registry
//! (Qt's `QHttpServerRouter`).

use std::sync::Arc;

use postern_core::{BodyPolicy, Method, Methods, Request, Responder};
use regex_lite::Regex;

use crate::convert::ConverterRegistry;
use crate::error::RouteError;
use crate::fast::FastMatcher;
use crate::handler::{Erased, Handler, Reply};
use crate::index::{Candidates, PrefixIndex, RuleIndex};
use crate::inline::Captures;
use crate::pattern::{Pattern, group_name};
use crate::rule::{PathMatcher, Rule, RuleHandle, RuleId};

const RULE_TARGET: &str = "postern::router::rule";

/// The rules of an [`HttpServer`](crate::HttpServer), in registration order, with the
/// converters their path arguments use.
///
/// Lookups walk a literal-prefix index (a radix tree over each rule's text before its first
/// `<arg>`), so only rules whose prefix starts the path are tried, in registration order:
/// the cost stays flat as rules are added, and the first registered match still wins.
///
/// ```
/// use postern_core::{Method, Request};
/// use postern_router::Router;
///
/// let mut router = Router::new();
/// let user = router.add("/user/", Method::Get, |id: u32| format!("User {id}"))?.id();
/// let request = Request::from_http(http::Request::get("/user/42").body(Default::default())?);
/// let found = router.find(&request).expect("matches");
/// assert_eq!((found.rule, found.captures.as_slice()), (user, &["42".to_owned()][..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct Router {
    rules: Vec<Rule>,
    index: PrefixIndex,
    converters: ConverterRegistry,
}

/// A successful [`Router::find`]: which rule matched, with its raw (decoded) captures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    /// The first rule that matched.
    pub rule: RuleId,
    /// One capture per path argument, before conversion.
    pub captures: Vec<String>,
}

/// How a request was dispatched.
pub(crate) enum Dispatch {
    /// A rule ran.
    Ran(Reply),
    /// No rule matched.
    NoMatch,
}

impl Router {
    /// An empty router with the default converters.
    pub fn new() -> Self {
        Self::default()
    }

    /// The converter registry.
    pub fn converters(&self) -> &ConverterRegistry {
        &self.converters
    }

    /// The converter registry, to add, replace, remove or clear converters. Rules already
    /// registered keep the regexes they were built with.
    pub fn converters_mut(&mut self) -> &mut ConverterRegistry {
        &mut self.converters
    }

    /// The registered rules, in registration order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// One rule.
    pub fn rule(&self, id: RuleId) -> Option<&Rule> {
        self.rules.get(id.index())
    }

    /// Registers a rule for `pattern` and `methods`; see
    /// [`HttpServer::route_with_methods`](crate::HttpServer::route_with_methods).
    ///
    /// # Errors
    /// See [`RouteError`]; nothing is registered then.
    pub fn add<H, M>(
        &mut self,
        pattern: &str,
        methods: impl Into<Methods>,
        handler: H,
    ) -> Result<RuleHandle<'_>, RouteError>
    where
        H: Handler<M>,
        M: 'static,
    {
        let methods = methods.into();
        let (id, rule) = self
            .next_id(pattern)
            .and_then(|id| {
                let handler = Arc::new(Erased::new(handler));
                Ok((id, self.compile(pattern, methods, H::arg_types(), handler)?))
            })
            .inspect_err(|error| tracing::warn!(target: RULE_TARGET, %error, "route refused"))?;
        tracing::debug!(
            target: RULE_TARGET,
            pattern,
            methods = ?methods,
            path_regex = rule.path_regex,
            "url pathRegexp"
        );
        let prefix = rule.pattern.get(..rule.prefix_len).unwrap_or_default();
        self.index
            .insert(prefix, id.0, matches!(rule.matcher, PathMatcher::Literal));
        let slot = self.rules.len();
        self.rules.push(rule);
        // `slot` was the length before the push, so the rule is there.
        let rule = &mut self.rules[slot];
        Ok(RuleHandle { id, rule })
    }

    /// The id the next rule gets. Ids are `u32`, half a `usize`, to keep the per-request
    /// candidate lists small; the check comes first so a refused rule costs no regex
    /// compilation.
    fn next_id(&self, pattern: &str) -> Result<RuleId, RouteError> {
        u32::try_from(self.rules.len())
            .map(RuleId)
            .map_err(|_| RouteError::TooManyRules {
                pattern: pattern.to_owned(),
            })
    }

    fn compile(
        &self,
        pattern: &str,
        methods: Methods,
        arg_types: Vec<crate::ArgType>,
        handler: Arc<dyn crate::handler::DynHandler>,
    ) -> Result<Rule, RouteError> {
        if methods.is_empty() {
            return Err(RouteError::EmptyMethods {
                pattern: pattern.to_owned(),
            });
        }
        let parsed = Pattern::parse(pattern).map_err(|kind| RouteError::Pattern {
            pattern: pattern.to_owned(),
            kind,
        })?;
        if parsed.placeholders() > arg_types.len() {
            return Err(RouteError::TooManyPlaceholders {
                pattern: pattern.to_owned(),
                placeholders: parsed.placeholders(),
                arguments: arg_types.len(),
            });
        }
        let surplus = arg_types.len() - parsed.placeholders();
        if surplus > 1 || (surplus == 1 && !pattern.ends_with('/')) {
            return Err(RouteError::SurplusArguments {
                pattern: pattern.to_owned(),
                placeholders: parsed.placeholders(),
                arguments: arg_types.len(),
            });
        }
        let mut captures = Vec::with_capacity(arg_types.len());
        for ty in &arg_types {
            let converter =
                self.converters
                    .get_by_id(ty.id())
                    .ok_or_else(|| RouteError::NoConverter {
                        pattern: pattern.to_owned(),
                        type_name: ty.name(),
                    })?;
            captures.push(converter.regex());
        }
        // The regex of `source` and the group index of each argument in it.
        let compile = |source: String| -> Result<(Regex, Vec<usize>), RouteError> {
            let regex = Regex::new(&source).map_err(|error| RouteError::Regex {
                pattern: pattern.to_owned(),
                message: error.to_string(),
            })?;
            let groups =
                group_indexes(&regex, captures.len()).ok_or_else(|| RouteError::Regex {
                    pattern: pattern.to_owned(),
                    message: "a converter regex reuses a group name of the router".to_owned(),
                })?;
            Ok((regex, groups))
        };
        let matcher = if captures.is_empty() {
            PathMatcher::Literal
        } else if captures.iter().any(|regex| asserts_context(regex)) {
            let (regex, groups) = compile(parsed.full_regex(&captures))?;
            PathMatcher::Whole { regex, groups }
        } else if let Some(fast) = FastMatcher::new(&captures, parsed.literals_after_prefix()) {
            PathMatcher::Fast(fast)
        } else {
            let (regex, groups) = compile(parsed.suffix_regex(&captures))?;
            // A user converter's capture at the very end needs only a search over the tail.
            match FastMatcher::with_tail(&captures, parsed.literals_after_prefix()) {
                Some(fast) => PathMatcher::Fast(fast),
                None => PathMatcher::Regex { regex, groups },
            }
        };
        Ok(Rule {
            pattern: pattern.to_owned(),
            methods,
            prefix_len: parsed.prefix().len(),
            path_regex: parsed.full_regex(&captures),
            matcher,
            arg_types,
            conditions: Vec::new(),
            handler,
            stream_body: false,
        })
    }

    /// The first rule that matches `request` (method, decoded path, conditions, and every
    /// capture converting), without running it. Exactly Qt's rules: no HEAD-to-GET fallback.
    pub fn find(&self, request: &Request) -> Option<RouteMatch> {
        let path = request.decoded_path();
        let mut candidates = Candidates::new();
        self.candidates(&path, &mut candidates);
        let mut captures = Captures::new();
        let method = request.method();
        candidates.iter().find_map(|&index| {
            let rule = self.rules.get(index as usize)?;
            let matched = rule.methods.contains(method)
                && rule.match_path(&path, &mut captures)
                && rule.conditions_hold(request)
                && rule.handler.converts(&captures);
            matched.then(|| RouteMatch {
                rule: RuleId(index),
                captures: captures.iter().map(|c| (*c).to_owned()).collect(),
            })
        })
    }

    /// How the rule [`dispatch`](Self::dispatch) would run wants the body, found the same
    /// way but without running anything: read whole for a handler that takes the request,
    /// streamed for a rule marked [`stream_body`](crate::RuleHandle::stream_body), read and
    /// dropped for a handler without a `Request` argument, unread without a rule.
    pub(crate) fn body_policy(
        &self,
        request: &Request,
        path: &str,
        head_as_get: bool,
    ) -> BodyPolicy {
        let mut candidates = Candidates::new();
        self.candidates(path, &mut candidates);
        let method = request.method();
        let first = |method: Method, skip: Option<Method>| {
            let mut captures = Captures::new();
            candidates.iter().find_map(|&index| {
                let rule = self.rules.get(index as usize)?;
                let matched = rule.methods.contains(method)
                    && !skip.is_some_and(|m| rule.methods.contains(m))
                    && rule.match_path(path, &mut captures)
                    && rule.conditions_hold(request)
                    && rule.handler.converts(&captures);
                matched.then(|| match (rule.handler.takes_request(), rule.stream_body) {
                    (false, _) => BodyPolicy::Discard,
                    (true, false) => BodyPolicy::Buffer,
                    (true, true) => BodyPolicy::Stream,
                })
            })
        };
        first(method, None)
            .or_else(|| {
                (head_as_get && method == Method::Head)
                    .then(|| first(Method::Get, Some(Method::Head)))
                    .flatten()
            })
            .unwrap_or(BodyPolicy::Ignore)
    }

    /// Runs the first matching rule. With `head_as_get`, a HEAD request no rule takes is
    /// retried as GET.
    pub(crate) fn dispatch(
        &self,
        request: &Request,
        path: &str,
        responder: &mut Option<Responder>,
        head_as_get: bool,
    ) -> Dispatch {
        let mut candidates = Candidates::new();
        self.candidates(path, &mut candidates);
        let method = request.method();
        if let Some(ran) = self.run_first(&candidates, method, None, path, request, responder) {
            return ran;
        }
        if head_as_get && method == Method::Head {
            let skip = Some(Method::Head);
            if let Some(ran) =
                self.run_first(&candidates, Method::Get, skip, path, request, responder)
            {
                return ran;
            }
        }
        Dispatch::NoMatch
    }

    fn run_first(
        &self,
        candidates: &[RuleIndex],
        method: Method,
        skip: Option<Method>,
        path: &str,
        request: &Request,
        responder: &mut Option<Responder>,
    ) -> Option<Dispatch> {
        let mut captures = Captures::new();
        for &index in candidates {
            let Some(rule) = self.rules.get(index as usize) else {
                continue;
            };
            if !rule.methods.contains(method) || skip.is_some_and(|m| rule.methods.contains(m)) {
                continue;
            }
            if !rule.match_path(path, &mut captures) || !rule.conditions_hold(request) {
                continue;
            }
            match rule.handler.call(&captures, request, responder) {
                Some(reply) => {
                    tracing::trace!(target: RULE_TARGET, pattern = rule.pattern, path, "rule matched");
                    return Some(Dispatch::Ran(reply));
                }
                None => tracing::debug!(
                    target: RULE_TARGET,
                    pattern = rule.pattern,
                    path,
                    "a capture did not convert to its argument type; rule skipped"
                ),
            }
        }
        None
    }

    /// The methods of every rule whose path, conditions and conversions match, whatever the
    /// request's method (for 405 Method Not Allowed).
    pub(crate) fn allowed_methods(&self, request: &Request, path: &str) -> Methods {
        let mut captures = Captures::new();
        let mut allowed = Methods::EMPTY;
        let mut candidates = Candidates::new();
        self.candidates(path, &mut candidates);
        for &index in candidates.iter() {
            let Some(rule) = self.rules.get(index as usize) else {
                continue;
            };
            if rule.match_path(path, &mut captures)
                && rule.conditions_hold(request)
                && rule.handler.converts(&captures)
            {
                allowed = allowed | rule.methods;
            }
        }
        allowed
    }

    /// Fills `candidates` (empty) with the rules that could match `path`, in registration
    /// order; inline (no allocation) up to [`Candidates`]' capacity.
    fn candidates(&self, path: &str, candidates: &mut Candidates) {
        self.index.candidates(path, candidates);
        // Often one node holds them all, already in order.
        if !candidates.is_sorted() {
            candidates.sort_unstable();
        }
    }
}

/// The index of groups `a0..a{count}` in `regex`.
/// Whether a converter regex may assert something about the text before its match (a
/// start anchor or a word boundary), so that it must see the whole path. Errs on the
/// safe side: `[^a]` counts too, and only costs the rule the faster matchers.
fn asserts_context(regex: &str) -> bool {
    regex.contains('^')
        || ["\\b", "\\B", "\\A", "\\<", "\\>"]
            .iter()
            .any(|assertion| regex.contains(assertion))
}

fn group_indexes(regex: &Regex, count: usize) -> Option<Vec<usize>> {
    (0..count)
        .map(|index| {
            let name = group_name(index);
            regex
                .capture_names()
                .position(|candidate| candidate == Some(name.as_str()))
        })
        .collect()
}
