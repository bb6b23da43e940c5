//! The Webhooks module's permission: one, since a subscription receives
//! every event of its tenant it asks for, so reading one is as sensitive as
//! changing it.

crate::declare_permissions! {
    /// Create, read, change and delete the tenant's webhook subscriptions,
    /// read their delivery logs and redeliver.
    WEBHOOK_MANAGE = "platform.webhook.manage",
}
