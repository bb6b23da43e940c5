//! Mail built with lettre (multipart/alternative text + HTML, UTF-8 headers,
//! Message-ID, Date) and delivered by SMTP, AWS SES v2, or written to a file
//! outbox for development: the same bytes whichever way it leaves.

mod file;
mod message;
mod ses;
mod smtp;

pub use file::{FileMailer, FileMailerParameters, FileMailerSettings};
pub use message::mime_bytes;
pub use ses::{SesHealthChecker, SesMailer, SesSettings};
pub use smtp::{SmtpConfigError, SmtpHealthChecker, SmtpMailer, SmtpSettings, SmtpTls};
