//! The container: configured adapters by default, any port overridable by a mock.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::PathBuf;
use std::sync::Arc;

use platform_bootstrap::config::{self, Environment, LoadOptions, Settings};
use platform_bootstrap::container;
use platform_ports::cache::{Cache, MockCache};
use platform_ports::events::EventBus;
use platform_ports::identity::UserRepository;
use shaku::HasComponent;

fn settings(vars: &[(&str, &str)]) -> Settings {
    let opts = LoadOptions {
        config_dir: Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config")),
        environment: Some(Environment::Test),
        vars: Some(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()),
    };
    config::load(&opts).unwrap().settings
}

#[tokio::test]
async fn a_port_can_be_overridden_with_a_mockall_mock() {
    let mut mock = MockCache::new();
    mock.expect_get()
        .withf(|key| key == "user:1:permissions")
        .returning(|_| Ok(Some(b"from-mock".to_vec())));
    let wiring = container::builder(&settings(&[])).await.unwrap();
    let module = wiring
        .builder
        .with_component_override::<dyn Cache>(Box::new(mock))
        .build();

    let cache: Arc<dyn Cache> = module.resolve();
    assert_eq!(
        cache.get("user:1:permissions").await.unwrap(),
        Some(b"from-mock".to_vec())
    );
}

#[tokio::test]
async fn defaults_are_the_embedded_adapters() {
    let s = settings(&[]);
    let choices = container::choices(&s).unwrap();
    let adapter = |port: &str| choices.iter().find(|c| c.port == port).map(|c| c.adapter).unwrap();
    assert_eq!(adapter("UserRepository"), "memory");
    assert_eq!(adapter("Cache"), "memory");
    assert_eq!(adapter("EventBus"), "in-process");
    assert_eq!(adapter("BlobStore"), "local filesystem");
    assert_eq!(adapter("Mailer"), "file (.eml)");

    let module = container::builder(&s).await.unwrap().builder.build();
    let _users: Arc<dyn UserRepository> = module.resolve();
    let _bus: Arc<dyn EventBus> = module.resolve();
}

#[test]
fn a_driver_without_an_adapter_is_refused_naming_the_key() {
    let s = settings(&[("PLATFORM__EVENT_BUS__DRIVER", "kafka")]);
    let err = container::choices(&s).unwrap_err().to_string();
    assert!(err.starts_with("event_bus.driver"), "{err}");
}
