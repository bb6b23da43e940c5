//! The files HTTP surface (`/api/v1/files*`) over the `FileService` driving
//! port: upload (raw body or `multipart/form-data`, streamed), metadata,
//! download (streamed), delete, signed download URLs, and the public route
//! that serves the platform-signed URLs of the local store.
//!
//! Uploads read the request body as a stream, never through a buffering
//! extractor, so `server.max_body_bytes` (axum's `DefaultBodyLimit`) does not
//! apply to them; `blob.max_upload_bytes` does, chunk by chunk.

mod dto;
pub(crate) mod errors;
mod routes;
mod signed;
pub(crate) mod upload;

use std::sync::Arc;

use axum::extract::FromRef;
use platform_ports::authz::Authorizer;
use platform_ports::blob::SignedUrlVerifier;
use platform_ports::files::FileService;
use platform_ports::files::permissions as perm;
use utoipa_axum::routes;

pub(crate) use dto::FileView;

use crate::module::{Access, ModuleRoutes, Mounted, RouteTable};

/// The driving ports the files routes call.
#[derive(Clone)]
pub struct FilesDeps {
    /// Files and their metadata.
    pub files: Arc<dyn FileService>,
    /// Checks the platform-signed URLs (`/api/v1/files/signed/...`).
    pub verifier: Arc<dyn SignedUrlVerifier>,
    /// Decides the routes' permissions.
    pub authorizer: Arc<dyn Authorizer>,
}

impl FromRef<Mounted<FilesDeps>> for FilesDeps {
    fn from_ref(state: &Mounted<FilesDeps>) -> Self {
        state.deps.clone()
    }
}

/// Every files route under `mount` (`/api/v1` in the platform's manifest:
/// the routes are `{mount}/files*`, so the signed route is at
/// `platform_ports::blob::SIGNED_URL_PATH`).
pub fn files_routes(deps: FilesDeps, mount: &str) -> ModuleRoutes {
    let needs = Access::Permission;
    RouteTable::new(mount, Arc::clone(&deps.authorizer))
        .route(routes!(routes::upload), needs(perm::FILE_UPLOAD))
        .route(routes!(routes::get), needs(perm::FILE_READ))
        .route(routes!(routes::download), needs(perm::FILE_READ))
        .route(routes!(routes::signed_url), needs(perm::FILE_READ))
        .route(routes!(routes::delete), needs(perm::FILE_DELETE))
        // The signature is the credential: no token.
        .route(routes!(signed::download_signed), Access::Public)
        .with_state(deps)
}
