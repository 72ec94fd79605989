//! A channel's settings, as read from the TOML file and `BOTWIRE_*` variables.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::auth::Secret;
use crate::{InvalidRate, Rate};

/// A setting's value as it was written: environment variables are always text.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SettingValue {
    /// A string.
    Text(String),
    /// A boolean.
    Bool(bool),
    /// An integer.
    Integer(i64),
    /// A list of strings.
    List(Vec<String>),
}

/// The settings of one channel, each remembered with where it came from so that an error can
/// say which line or variable to fix. `Debug` shows the keys and sources, never the values.
#[derive(Clone, Default)]
pub struct ChannelSettings {
    name: String,
    entries: BTreeMap<String, (SettingValue, String)>,
}

/// A setting that is unknown or malformed. Names the setting, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {problem}")]
pub struct SettingError {
    /// Where the setting came from (`BOTWIRE_FUNTEK_TOKEN`, `channels.funtek.token`).
    pub origin: String,
    /// What is wrong with it.
    pub problem: String,
}

/// Keys every channel has, read by the server rather than the platform.
const COMMON_KEYS: [&str; 7] = [
    "platform",
    "path",
    "allow_from",
    "outbox_url",
    "outbox_secret",
    "rate_limit",
    "conversation_rate_limit",
];

impl ChannelSettings {
    /// Empty settings for the channel `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            entries: BTreeMap::new(),
        }
    }

    /// Sets `key`, replacing an earlier value (the environment is applied after the file).
    pub fn set(&mut self, key: impl Into<String>, value: SettingValue, source: impl Into<String>) {
        self.entries.insert(key.into(), (value, source.into()));
    }

    /// Sets `key` to a text value given in code.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        let source = format!("{}.{key}", self.name);
        self.set(key, SettingValue::Text(value.into()), source);
        self
    }

    /// The channel name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The keys that are set.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// A text setting.
    ///
    /// # Errors
    /// When the value is not text.
    pub fn text(&self, key: &str) -> Result<Option<&str>, SettingError> {
        match self.entries.get(key) {
            None => Ok(None),
            Some((SettingValue::Text(text), _)) => Ok(Some(text)),
            Some((_, source)) => Err(problem(source, "expected a string")),
        }
    }

    /// A list of secrets: a comma-separated string or a list of strings. Empty when unset.
    ///
    /// # Errors
    /// When the value is neither.
    pub fn secrets(&self, key: &str) -> Result<Vec<Secret>, SettingError> {
        if let Some((SettingValue::Integer(_), source)) = self.entries.get(key) {
            return Err(problem(source, "expected a string or a list of strings"));
        }
        Ok(self.list(key)?.into_iter().map(Secret::new).collect())
    }

    /// A list: a comma-separated string or a list of strings (or integers), trimmed, blanks
    /// dropped. Empty when unset.
    ///
    /// # Errors
    /// When the value is none of these.
    pub fn list(&self, key: &str) -> Result<Vec<String>, SettingError> {
        let split = |text: &str| {
            text.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        match self.entries.get(key) {
            None => Ok(Vec::new()),
            Some((SettingValue::Text(text), _)) => Ok(split(text)),
            Some((SettingValue::Integer(n), _)) => Ok(vec![n.to_string()]),
            Some((SettingValue::List(items), _)) => {
                Ok(items.iter().flat_map(|i| split(i)).collect())
            }
            Some((_, source)) => Err(problem(source, "expected a string or a list of strings")),
        }
    }

    /// A boolean: `true`/`false` in TOML, or `true`, `false`, `1`, `0`, `yes`, `no` as text.
    ///
    /// # Errors
    /// When the value is none of these.
    pub fn flag(&self, key: &str) -> Result<Option<bool>, SettingError> {
        match self.entries.get(key) {
            None => Ok(None),
            Some((SettingValue::Bool(b), _)) => Ok(Some(*b)),
            Some((SettingValue::Text(text), source)) => {
                match text.trim().to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" | "on" => Ok(Some(true)),
                    "false" | "0" | "no" | "off" => Ok(Some(false)),
                    _ => Err(problem(source, "expected true or false")),
                }
            }
            Some((_, source)) => Err(problem(source, "expected true or false")),
        }
    }

    /// A duration written like `5s`, `250ms` or `1m 30s`.
    ///
    /// # Errors
    /// When the value is not such a duration.
    pub fn duration(&self, key: &str) -> Result<Option<Duration>, SettingError> {
        const HINT: &str = "expected a duration such as \"5s\" or \"250ms\"";
        match self.entries.get(key) {
            None => Ok(None),
            Some((SettingValue::Text(text), source)) => humantime::parse_duration(text.trim())
                .map(Some)
                .map_err(|_| problem(source, HINT)),
            Some((_, source)) => Err(problem(source, HINT)),
        }
    }

    /// A rate limit written `N/DURATION` (`300/5m`) or `off`: `None` when unset, `Some(None)`
    /// for `off`.
    ///
    /// # Errors
    /// When the value is neither.
    pub fn rate(&self, key: &str) -> Result<Option<Option<Rate>>, SettingError> {
        match self.entries.get(key) {
            None => Ok(None),
            Some((SettingValue::Text(text), source)) => Rate::parse(text)
                .map(Some)
                .map_err(|e| problem(source, &e.to_string())),
            Some((_, source)) => Err(problem(source, &InvalidRate.to_string())),
        }
    }

    /// A duration that must be longer than zero (deadlines, windows).
    ///
    /// # Errors
    /// When the value is not a duration, or is zero.
    pub fn positive_duration(&self, key: &str) -> Result<Option<Duration>, SettingError> {
        match self.duration(key)? {
            Some(d) if d.is_zero() => Err(self.error(key, "must be longer than zero")),
            other => Ok(other),
        }
    }

    /// Refuses keys other than `known` (and the common `platform` and `path`), so that a typo
    /// is an error rather than a silently ignored setting.
    ///
    /// # Errors
    /// Names the first unknown setting and the ones that are known.
    pub fn expect_only(&self, known: &[&str]) -> Result<(), SettingError> {
        for (key, (_, source)) in &self.entries {
            if !known.contains(&key.as_str()) && !COMMON_KEYS.contains(&key.as_str()) {
                return Err(problem(
                    source,
                    &format!("unknown setting; this platform knows: {}", known.join(", ")),
                ));
            }
        }
        Ok(())
    }

    /// Refuses `keys` when any is set: this build left out the cargo `feature` that reads
    /// them (say, `send-api` for a send API's credentials), and ignoring them would drop the
    /// replies they were set to deliver.
    ///
    /// # Errors
    /// Names the first of `keys` that is set, and the feature.
    pub fn refuse_without(&self, feature: &str, keys: &[&str]) -> Result<(), SettingError> {
        match keys.iter().find(|key| self.entries.contains_key(**key)) {
            Some(key) => Err(self.error(
                key,
                &format!("needs botwire's `{feature}` cargo feature, which this build leaves out"),
            )),
            None => Ok(()),
        }
    }

    /// An error about `key`, naming where it came from.
    pub fn error(&self, key: &str, what: &str) -> SettingError {
        let source = match self.entries.get(key) {
            Some((_, source)) => source.clone(),
            None if self.name.is_empty() => key.to_owned(),
            None => format!("{}.{key}", self.name),
        };
        problem(&source, what)
    }
}

fn problem(source: &str, what: &str) -> SettingError {
    SettingError {
        origin: source.to_owned(),
        problem: what.to_owned(),
    }
}

impl fmt::Debug for ChannelSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelSettings")
            .field("name", &self.name)
            .field(
                "keys",
                &self.entries.values().map(|(_, s)| s).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl fmt::Debug for SettingValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ChannelSettings {
        let mut s = ChannelSettings::new("funtek");
        s.set(
            "token",
            SettingValue::Text("a, b".into()),
            "BOTWIRE_FUNTEK_TOKEN",
        );
        s.set(
            "insecure",
            SettingValue::Text("yes".into()),
            "BOTWIRE_FUNTEK_INSECURE",
        );
        s.set(
            "deadline",
            SettingValue::Text("1500ms".into()),
            "channels.funtek.deadline",
        );
        s.set("n", SettingValue::Integer(3), "channels.funtek.n");
        s.set(
            "list",
            SettingValue::List(vec!["x".into(), "y,z".into()]),
            "channels.funtek.list",
        );
        s
    }

    #[test]
    fn typed_getters_read_text_and_native_values() {
        let s = settings();
        assert_eq!(s.secrets("token").unwrap().len(), 2);
        assert_eq!(s.secrets("list").unwrap().len(), 3);
        assert!(s.secrets("missing").unwrap().is_empty());
        assert_eq!(s.flag("insecure").unwrap(), Some(true));
        assert_eq!(
            s.duration("deadline").unwrap(),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(s.text("token").unwrap(), Some("a, b"));
        assert_eq!(s.text("nothing").unwrap(), None);
    }

    #[test]
    fn malformed_values_name_their_source_not_their_value() {
        let s = settings();
        let err = s.duration("n").unwrap_err();
        assert_eq!(err.origin, "channels.funtek.n");
        let err = s.flag("token").unwrap_err();
        assert_eq!(
            err.to_string(),
            "BOTWIRE_FUNTEK_TOKEN: expected true or false"
        );
        assert!(s.text("n").is_err());
        assert!(s.secrets("n").is_err());
        let mut bad = ChannelSettings::new("c");
        bad.set("deadline", SettingValue::Text("soon".into()), "X");
        assert!(bad.duration("deadline").is_err());
    }

    #[test]
    fn rates_are_read_or_refused_naming_the_setting() {
        let s = ChannelSettings::new("chatwork")
            .with("rate_limit", "50/1s")
            .with("conversation_rate_limit", "off")
            .with("bad", "fast");
        assert_eq!(
            s.rate("rate_limit").unwrap(),
            Some(Some(Rate::new(50, Duration::from_secs(1))))
        );
        assert_eq!(s.rate("conversation_rate_limit").unwrap(), Some(None));
        assert_eq!(s.rate("unset").unwrap(), None);
        let error = s.rate("bad").unwrap_err();
        assert_eq!(error.origin, "chatwork.bad");
        assert!(error.problem.contains("N/DURATION"), "{error}");
        let mut typed = ChannelSettings::new("c");
        typed.set("rate_limit", SettingValue::Integer(5), "X");
        assert!(typed.rate("rate_limit").is_err());
    }

    #[test]
    fn unknown_keys_are_refused() {
        let s = ChannelSettings::new("funtek")
            .with("tokn", "x")
            .with("path", "/p");
        let err = s.expect_only(&["token"]).unwrap_err();
        assert_eq!(err.origin, "funtek.tokn");
        assert!(
            ChannelSettings::new("f")
                .with("path", "/p")
                .expect_only(&[])
                .is_ok()
        );
    }

    #[test]
    fn keys_of_a_left_out_feature_are_refused_by_name() {
        let s = settings();
        assert!(
            s.refuse_without("send-api", &["api_key", "api_base"])
                .is_ok()
        );
        let err = s
            .refuse_without("send-api", &["api_key", "deadline"])
            .unwrap_err();
        assert_eq!(err.origin, "channels.funtek.deadline");
        assert!(err.problem.contains("`send-api` cargo feature"), "{err}");
        assert!(
            !err.to_string().contains("1500ms"),
            "never the value: {err}"
        );
    }

    #[test]
    fn debug_hides_values() {
        let shown = format!("{:?}", settings());
        assert!(!shown.contains("a, b"), "{shown}");
        assert!(shown.contains("BOTWIRE_FUNTEK_TOKEN"));
    }
}
