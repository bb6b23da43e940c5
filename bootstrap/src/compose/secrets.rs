//! Where secrets come from (`secrets.*`). Built first, before the other
//! families: configuration loading applies its values as the last layer.

use platform_ports::secrets::SecretSource;

use super::{Built, Parts, serve};
use platform_adapter_secrets::FileSecretSource;

use crate::config::{ENV_PREFIX, SecretsSettings};

/// The secret source port.
pub type SecretPort = Box<dyn SecretSource>;

/// Builds the configured secret source.
///
/// # Errors
/// None for the files source; remote stores fail naming their key.
pub fn build(settings: &SecretsSettings) -> anyhow::Result<Built<SecretPort>> {
    let mut parts = Parts::default();
    let dir = Some(settings.dir.clone()).filter(|d| !d.is_empty()).map(Into::into);
    let ports = serve!(
        parts,
        SecretSource,
        FileSecretSource::new(dir).with_env_prefix(ENV_PREFIX)
    );
    Ok(Built { ports, parts })
}
