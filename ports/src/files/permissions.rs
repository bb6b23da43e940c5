//! The files module's permissions.

crate::declare_permissions! {
    /// Upload files.
    FILE_UPLOAD = "platform.file.upload",
    /// Read files' metadata and bytes, and get signed download URLs.
    FILE_READ = "platform.file.read",
    /// Delete files.
    FILE_DELETE = "platform.file.delete",
}

#[cfg(test)]
mod tests {
    use crate::authz::Permission;

    use super::*;

    #[test]
    fn every_permission_is_well_formed_and_belongs_to_the_platform() {
        assert_eq!(ALL.len(), 3);
        for permission in ALL {
            assert_eq!(Permission::parse(permission.as_str()).as_ref(), Ok(permission));
            assert_eq!(permission.module(), "platform");
        }
    }
}
