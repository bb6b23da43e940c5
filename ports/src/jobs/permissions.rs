//! The Jobs API's permissions (the `jobs` module grants them to `admin`).

crate::declare_permissions! {
    /// See queues, their sizes and counters, and their tasks.
    JOBS_READ = "platform.jobs.read",
    /// Run, archive and delete tasks; pause and resume queues.
    JOBS_MANAGE = "platform.jobs.manage",
}

#[cfg(test)]
mod tests {
    use crate::authz::Permission;

    use super::*;

    #[test]
    fn every_permission_is_well_formed() {
        assert_eq!(ALL.len(), 2);
        for permission in ALL {
            assert_eq!(Permission::parse(permission.as_str()).as_ref(), Ok(permission));
            assert_eq!(permission.module(), "platform");
        }
    }
}
