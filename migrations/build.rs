//! `sqlx::migrate!` reads `sql/` at compile time; without this a new
//! migration file is not embedded until something else rebuilds the crate.

fn main() {
    println!("cargo:rerun-if-changed=sql");
}
