//! Authorization: permissions resolved from a user's roles through the cache
//! ([`CachedPermissionResolver`]) and checked per request ([`RbacAuthorizer`]).

mod authorizer;
mod resolver;
#[cfg(test)]
mod tests;

pub use authorizer::RbacAuthorizer;
pub use resolver::{
    CachedPermissionResolver, CachedPermissionResolverParameters, PermissionCacheSettings, permissions_cache_key,
};
