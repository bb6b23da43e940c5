//! Mail templates (minijinja): a subject, a text body and an HTML body per
//! template and locale, HTML auto-escaped, checked once at start-up.
//!
//! A templates directory holds `<locale>/<name>.subject.txt`,
//! `<locale>/<name>.txt` and `<locale>/<name>.html` (optional), shared
//! layouts and partials (`layout.html`), and `samples/<name>.json` (the data
//! the start-up check renders a template with). A deployment's
//! `mail.templates_dir` uses the same layout: each of its files replaces the
//! built-in file of the same path or adds a template or locale. Built-in
//! templates keep their built-in samples, so an override that needs data the
//! platform does not send fails the check.

mod builtin;
mod source;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, UndefinedBehavior, Value};
use platform_ports::notify::NotifyError;

pub use builtin::BUILTIN_TEMPLATES;
use source::{Files, Part, builtin_files, classify, read_dir_files};

/// The locale every template has and every other locale falls back to.
pub const DEFAULT_LOCALE: &str = "en";

/// Where templates come from and what every template may use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailTemplateSettings {
    /// A deployment's override directory (`mail.templates_dir`); `None`: built-ins only.
    pub dir: Option<PathBuf>,
    /// `product_name` in every template.
    pub product_name: String,
}

impl Default for MailTemplateSettings {
    fn default() -> Self {
        Self {
            dir: None,
            product_name: "Platform".to_owned(),
        }
    }
}

/// Why the templates cannot be used; start-up stops on it.
#[derive(Debug, thiserror::Error)]
pub enum TemplateLoadError {
    /// The override directory or one of its files cannot be read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A template does not compile, misses a part, or fails to render its sample data.
    #[error("mail template `{template}` is broken: {reason}")]
    Broken {
        /// The template's name (or the file's path for a layout).
        template: String,
        /// What is wrong, with the file and line.
        reason: String,
    },
}

/// A rendered mail: subject, text and optional HTML.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedMail {
    /// The subject, on one line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body, when the template has one.
    pub html: Option<String>,
}

/// The files making up one template in one locale.
#[derive(Clone, Debug, Default)]
struct Parts {
    subject: Option<String>,
    text: Option<String>,
    html: Option<String>,
}

/// The compiled templates, cheap to clone.
#[derive(Clone)]
pub struct MailTemplates {
    inner: Arc<Inner>,
}

struct Inner {
    env: Environment<'static>,
    /// template name → locale (as written) → its files.
    templates: BTreeMap<String, BTreeMap<String, Parts>>,
    samples: BTreeMap<String, serde_json::Value>,
}

impl std::fmt::Debug for MailTemplates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailTemplates")
            .field("templates", &self.inner.templates.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl MailTemplates {
    /// Loads the built-ins and the override directory, compiles every file,
    /// and renders every template in every locale with its sample data.
    ///
    /// # Errors
    /// [`TemplateLoadError::Io`] when the directory cannot be read,
    /// [`TemplateLoadError::Broken`] naming the first template that fails.
    pub fn load(settings: &MailTemplateSettings) -> Result<Self, TemplateLoadError> {
        let mut files = builtin_files();
        if let Some(dir) = &settings.dir {
            for (path, source) in read_dir_files(dir)? {
                if let Some(name) = sample_name(&path).filter(|n| BUILTIN_TEMPLATES.contains(n)) {
                    return Err(broken(
                        name,
                        format!("{path}: built-in templates are checked with the platform's own sample data"),
                    ));
                }
                files.insert(path, source);
            }
        }
        let templates = Self::compile(files, settings)?;
        templates.check()?;
        Ok(templates)
    }

    /// The built-in templates only.
    ///
    /// # Errors
    /// As [`MailTemplates::load`] (the built-ins are tested, so only a broken build fails).
    pub fn builtin() -> Result<Self, TemplateLoadError> {
        Self::load(&MailTemplateSettings::default())
    }

    fn compile(files: Files, settings: &MailTemplateSettings) -> Result<Self, TemplateLoadError> {
        let mut env = Environment::new();
        let syntax = SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .map_err(|e| broken("(syntax)", e.to_string()))?;
        env.set_syntax(syntax);
        // Printing a value the data lacks is an error, not an empty string;
        // `{% if name %}` still works for optional fields.
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        env.add_global("product_name", settings.product_name.clone());

        let mut templates: BTreeMap<String, BTreeMap<String, Parts>> = BTreeMap::new();
        let mut samples = BTreeMap::new();
        for (path, source) in files {
            if let Some(name) = sample_name(&path) {
                let data = serde_json::from_str(&source).map_err(|e| broken(name, format!("{path}: {e}")))?;
                samples.insert(name.to_owned(), data);
                continue;
            }
            // Errors name the template a part belongs to, or the layout's path.
            let owner = match classify(&path) {
                Some((locale, name, part)) => {
                    let parts = templates
                        .entry(name.to_owned())
                        .or_default()
                        .entry(locale.to_owned())
                        .or_default();
                    let slot = match part {
                        Part::Subject => &mut parts.subject,
                        Part::Text => &mut parts.text,
                        Part::Html => &mut parts.html,
                    };
                    *slot = Some(path.clone());
                    name.to_owned()
                }
                None => path.clone(),
            };
            env.add_template_owned(path, source)
                .map_err(|e| broken(&owner, e.to_string()))?;
        }
        for (name, locales) in &templates {
            if !locales.contains_key(DEFAULT_LOCALE) {
                return Err(broken(
                    name,
                    format!("no `{DEFAULT_LOCALE}` version, which other locales fall back to"),
                ));
            }
            for (locale, parts) in locales {
                if parts.subject.is_none() {
                    return Err(broken(name, format!("missing `{locale}/{name}.subject.txt`")));
                }
                if parts.text.is_none() {
                    return Err(broken(name, format!("missing `{locale}/{name}.txt`")));
                }
            }
        }
        Ok(Self {
            inner: Arc::new(Inner {
                env,
                templates,
                samples,
            }),
        })
    }

    /// Renders every template in every locale with its sample data.
    ///
    /// # Errors
    /// [`TemplateLoadError::Broken`] naming the first template that fails.
    pub fn check(&self) -> Result<(), TemplateLoadError> {
        for (name, locales) in &self.inner.templates {
            let sample = self
                .inner
                .samples
                .get(name)
                .ok_or_else(|| broken(name, format!("no sample data: add `samples/{name}.json`")))?;
            for (locale, parts) in locales {
                self.render_parts(name, locale, parts, sample).map_err(|e| match e {
                    NotifyError::Template { reason, .. } => broken(name, reason),
                    other => broken(name, other.to_string()),
                })?;
            }
        }
        Ok(())
    }

    /// The template names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.inner.templates.keys().map(String::as_str)
    }

    /// The locales `name` exists in, sorted.
    pub fn locales(&self, name: &str) -> impl Iterator<Item = &str> {
        self.inner
            .templates
            .get(name)
            .into_iter()
            .flat_map(|locales| locales.keys().map(String::as_str))
    }

    /// The sample data the start-up check renders `name` with.
    #[must_use]
    pub fn sample(&self, name: &str) -> Option<&serde_json::Value> {
        self.inner.samples.get(name)
    }

    /// Renders `name` in `locale` (or its language, or [`DEFAULT_LOCALE`]) with `data`.
    ///
    /// # Errors
    /// [`NotifyError::UnknownTemplate`]; [`NotifyError::Invalid`] when `data`
    /// is not a JSON object; [`NotifyError::Template`] when rendering fails
    /// (a value the template prints is missing, say).
    pub fn render(&self, name: &str, locale: &str, data: &serde_json::Value) -> Result<RenderedMail, NotifyError> {
        let locales = self
            .inner
            .templates
            .get(name)
            .ok_or_else(|| NotifyError::UnknownTemplate(name.to_owned()))?;
        let (locale, parts) = pick_locale(locales, locale)
            .ok_or_else(|| NotifyError::UnknownTemplate(format!("{name} ({DEFAULT_LOCALE})")))?;
        self.render_parts(name, locale, parts, data)
    }

    fn render_parts(
        &self,
        name: &str,
        locale: &str,
        parts: &Parts,
        data: &serde_json::Value,
    ) -> Result<RenderedMail, NotifyError> {
        let mut context = match data {
            serde_json::Value::Object(map) => map.clone(),
            serde_json::Value::Null => serde_json::Map::new(),
            _ => {
                return Err(NotifyError::Invalid(
                    "`data`: template data must be a JSON object".into(),
                ));
            }
        };
        context
            .entry("locale")
            .or_insert_with(|| serde_json::Value::String(locale.to_owned()));
        let context = Value::from(minijinja::value::Serde(&context));
        let render = |path: &Option<String>| -> Result<Option<String>, NotifyError> {
            let Some(path) = path else { return Ok(None) };
            let template = self.inner.env.get_template(path).map_err(|e| failed(name, &e))?;
            template.render(&context).map(Some).map_err(|e| failed(name, &e))
        };
        let subject = render(&parts.subject)?.unwrap_or_default();
        Ok(RenderedMail {
            // A subject is one header line: line breaks in the file or the data become spaces.
            subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
            text: render(&parts.text)?.unwrap_or_default(),
            html: render(&parts.html)?,
        })
    }
}

/// The built-in templates; none at all (every send fails as an unknown
/// template) only if the built-ins were broken, which their tests rule out.
impl Default for MailTemplates {
    fn default() -> Self {
        Self::builtin().unwrap_or_else(|err| {
            tracing::error!(error = %err, "built-in mail templates are broken");
            Self {
                inner: Arc::new(Inner {
                    env: Environment::new(),
                    templates: BTreeMap::new(),
                    samples: BTreeMap::new(),
                }),
            }
        })
    }
}

/// `locale`, then its language (`pt` for `pt-BR`), then [`DEFAULT_LOCALE`];
/// compared without case, `_` read as `-`.
fn pick_locale<'a>(locales: &'a BTreeMap<String, Parts>, wanted: &str) -> Option<(&'a str, &'a Parts)> {
    let wanted = wanted.trim().replace('_', "-");
    let language = wanted.split('-').next().unwrap_or_default().to_owned();
    [wanted, language, DEFAULT_LOCALE.to_owned()]
        .iter()
        .find_map(|candidate| {
            locales
                .iter()
                .find(|(locale, _)| !candidate.is_empty() && locale.eq_ignore_ascii_case(candidate))
        })
        .map(|(locale, parts)| (locale.as_str(), parts))
}

/// `welcome` for `samples/welcome.json`.
fn sample_name(path: &str) -> Option<&str> {
    path.strip_prefix("samples/")?.strip_suffix(".json")
}

fn broken(template: &str, reason: String) -> TemplateLoadError {
    TemplateLoadError::Broken {
        template: template.to_owned(),
        reason,
    }
}

fn failed(name: &str, err: &minijinja::Error) -> NotifyError {
    NotifyError::Template {
        template: name.to_owned(),
        reason: err.to_string(),
    }
}
