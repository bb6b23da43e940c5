//! `platform audit verify`: walks the chains and says so; refuses a tenant
//! that is not a UUID. (Broken chains are named by the PostgreSQL tamper
//! tests in `tests/tests/audit_chain.rs`; the command maps a broken report
//! to exit status 3.)
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod support;

use support::{platform, run};

#[test]
fn verify_walks_every_chain_and_exits_zero_when_intact() {
    let mut cmd = platform();
    cmd.args(["audit", "verify"]);
    let (code, stdout, stderr) = run(cmd);
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.contains("intact") || stdout.contains("no audit chain to verify"),
        "{stdout}"
    );
    assert!(!stdout.contains("BROKEN"), "{stdout}");
}

#[test]
fn verify_of_one_tenant_reports_it() {
    let tenant = "00000000-0000-0000-0000-0000000000ab";
    let mut cmd = platform();
    cmd.args(["audit", "verify", "--tenant", tenant]);
    let (code, stdout, stderr) = run(cmd);
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.contains(&format!("tenant {tenant}: intact, 0 entries verified")),
        "{stdout}"
    );
}

#[test]
fn a_tenant_that_is_not_a_uuid_is_a_usage_error() {
    let mut cmd = platform();
    cmd.args(["audit", "verify", "--tenant", "acme"]);
    let (code, _, stderr) = run(cmd);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--tenant"), "{stderr}");
}
