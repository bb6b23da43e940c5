//! Reads the routes an axum `Router` serves.
//!
//! axum has no public API that lists a router's routes, but its `Debug`
//! output names every path (`Node { paths: {RouteId(n): "/path"} }`) and,
//! per route, which methods have an endpoint (`get: Route`, `post: None`).
//! Reading that is brittle across axum versions, so the parser checks its
//! own result and fails loudly rather than returning too little.

use std::collections::{BTreeMap, BTreeSet};

use axum::Router;

/// The methods a `MethodRouter` prints, lower case as in its `Debug`.
pub const METHODS: [&str; 9] = [
    "get", "head", "delete", "options", "patch", "post", "put", "trace", "connect",
];

/// axum registers its own catch-all routes for nesting and fallbacks.
const AXUM_INTERNAL: &str = "__private__axum";

/// `(METHOD, path template)` of every route `router` serves; a route that
/// serves any method (a nested service) is `("ANY", path)`.
pub fn served(router: &Router) -> BTreeSet<(String, String)> {
    let debug = format!("{router:?}");
    // The fallback router holds only fallbacks; the routes are before it.
    let main = debug
        .split(", fallback_router:")
        .next()
        .unwrap_or_else(|| changed(&debug));
    let (routes, paths) = main
        .split_once("node: Node { paths: {")
        .unwrap_or_else(|| changed(&debug));
    let paths = path_ids(paths);
    let endpoints = endpoint_methods(routes);
    if paths.is_empty() || paths.len() != endpoints.len() {
        changed(&debug);
    }
    let mut out = BTreeSet::new();
    for (id, methods) in endpoints {
        let path = paths.get(&id).unwrap_or_else(|| changed(&debug));
        if path.contains(AXUM_INTERNAL) {
            continue;
        }
        // The document names a catch-all `{*key}` as `{key}`.
        let path = path.replace("{*", "{");
        for method in methods {
            out.insert((method, path.clone()));
        }
    }
    out
}

fn changed(debug: &str) -> ! {
    panic!("axum's Router Debug output changed; update tests/http/openapi/routes.rs:\n{debug}")
}

/// `RouteId(n): "/path"` pairs.
fn path_ids(text: &str) -> BTreeMap<u32, String> {
    text.split("RouteId(")
        .skip(1)
        .filter_map(|chunk| {
            let (id, rest) = chunk.split_once("): \"")?;
            let (path, _) = rest.split_once('"')?;
            Some((id.parse().ok()?, path.to_owned()))
        })
        .collect()
}

/// `RouteId(n): MethodRouter(MethodRouter { get: Route, head: None, … })`
/// → the methods that are not `None`; `RouteId(n): Route(…)` → `ANY`.
fn endpoint_methods(text: &str) -> BTreeMap<u32, Vec<String>> {
    text.split("RouteId(")
        .skip(1)
        .filter_map(|chunk| {
            let (id, rest) = chunk.split_once("): ")?;
            let id = id.parse().ok()?;
            if rest.starts_with("Route(") {
                return Some((id, vec!["ANY".to_owned()]));
            }
            let fields = rest.strip_prefix("MethodRouter(MethodRouter {")?;
            let methods = METHODS
                .iter()
                .filter(|method| {
                    let key = format!(" {method}: ");
                    let at = fields.find(&key).unwrap_or_else(|| panic!("no `{method}` in {fields}"));
                    !fields[at + key.len()..].starts_with("None")
                })
                .map(|method| method.to_uppercase())
                .collect();
            Some((id, methods))
        })
        .collect()
}
