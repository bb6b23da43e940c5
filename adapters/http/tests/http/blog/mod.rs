//! The blog routes over real HTTP, with mockall mocks of `BlogService` and
//! `Authorizer`.

mod posts;
mod workflow;

use std::sync::Arc;
use std::time::Duration;

use platform_adapter_http::{BlogDeps, blog_routes};
use platform_ports::auth::TokenError;
use platform_ports::auth::{AuthError, Authenticator, MockAuthenticator};
use platform_ports::authz::Permission;
use platform_ports::authz::{AuthzError, MockAuthorizer};
use platform_ports::blog::MockBlogService;
use platform_ports::blog::{Post, PostStatus};
use platform_ports::model::{PostId, UserId};
use uuid::Uuid;

use crate::security::{TOKEN, TOKEN_TENANT, TOKEN_USER, at, claims, is_token_ctx};
use crate::support::{Setup, TestApp};

pub const CREATE: Permission = Permission::declare("blog.post.create");
pub const READ: Permission = Permission::declare("blog.post.read");
pub const UPDATE: Permission = Permission::declare("blog.post.update");
pub const DELETE: Permission = Permission::declare("blog.post.delete");
pub const PUBLISH: Permission = Permission::declare("blog.post.publish");

/// The post most tests act on.
pub const POST: PostId = PostId(Uuid::from_u128(0xb106));

/// Mocks for the blog routes; tests add expectations, then [`Blog::start`].
pub struct Blog {
    pub blog: MockBlogService,
    pub authorizer: MockAuthorizer,
}

impl Blog {
    pub fn new() -> Self {
        Self {
            blog: MockBlogService::new(),
            authorizer: MockAuthorizer::new(),
        }
    }

    /// The authorizer grants `permission` to the token's actor, once.
    pub fn grant(mut self, permission: Permission) -> Self {
        self.authorizer
            .expect_authorize()
            .withf(move |ctx, asked| *asked == permission && is_token_ctx(ctx))
            .times(1)
            .returning(|_, _| Ok(()));
        self
    }

    /// The authorizer refuses `permission`.
    pub fn deny(mut self, permission: Permission) -> Self {
        self.authorizer
            .expect_authorize()
            .withf(move |_, asked| *asked == permission)
            .returning(|_, asked| Err(AuthzError::Forbidden(asked.clone())));
        self
    }

    /// Serves the blog routes behind the real middleware, with an
    /// authenticator that accepts only [`TOKEN`].
    pub async fn start(self) -> TestApp {
        let mut authenticator = MockAuthenticator::new();
        authenticator.expect_verify_token().returning(|token| {
            if token == TOKEN {
                Ok(Arc::new(claims()))
            } else {
                Err(AuthError::InvalidToken(Some(TokenError::BadSignature)))
            }
        });
        let deps = BlogDeps {
            blog: Arc::new(self.blog),
            authorizer: Arc::new(self.authorizer),
        };
        let mut setup = Setup::new(blog_routes(deps, "/api/v1/blog"));
        setup.authenticator = Some(Arc::new(authenticator) as Arc<dyn Authenticator>);
        setup.spawn(Duration::from_secs(5)).await
    }
}

/// A post of the token's tenant by the token's user.
pub fn post(id: PostId, status: PostStatus) -> Post {
    Post {
        id,
        tenant_id: TOKEN_TENANT,
        author_id: TOKEN_USER,
        title: "Hexagons".to_owned(),
        content: "All the way down.".to_owned(),
        status,
        tags: vec!["rust".to_owned(), "design".to_owned()],
        created_at: at(),
        updated_at: at(),
        published_at: (status == PostStatus::Published).then(at),
    }
}

/// Another author.
pub const OTHER_AUTHOR: UserId = UserId(Uuid::from_u128(0x0a0a));
