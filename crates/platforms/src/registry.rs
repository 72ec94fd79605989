//! The platforms a server can mount channels of: the built-in ones and the user's own.

use std::sync::Arc;

use crate::Platform;

/// A set of platforms, one per id.
#[derive(Clone)]
pub struct Platforms(Vec<Arc<dyn Platform>>);

impl Platforms {
    /// The platforms this build of botwire includes (each is a cargo feature).
    #[allow(clippy::vec_init_then_push)]
    pub fn builtin() -> Self {
        // One push per platform feature; with none, nothing is pushed.
        #[allow(unused_mut)]
        let mut all: Vec<Arc<dyn Platform>> = Vec::new();
        #[cfg(feature = "funtek")]
        all.push(Arc::new(crate::funtek::Funtek));
        #[cfg(feature = "kamigo")]
        all.push(Arc::new(crate::kamigo::Kamigo));
        #[cfg(feature = "chatwork")]
        all.push(Arc::new(crate::chatwork::Chatwork));
        #[cfg(feature = "wechatpadpro")]
        all.push(Arc::new(crate::wechatpadpro::WeChatPadPro));
        #[cfg(feature = "line")]
        all.push(Arc::new(crate::line::Line));
        #[cfg(feature = "telegram")]
        all.push(Arc::new(crate::telegram::Telegram));
        #[cfg(feature = "slack")]
        all.push(Arc::new(crate::slack::Slack));
        #[cfg(feature = "discord")]
        all.push(Arc::new(crate::discord::Discord));
        #[cfg(feature = "standard-webhooks")]
        all.push(Arc::new(crate::standard_webhooks::StandardWebhooks));
        Self(all)
    }

    /// No platform at all.
    pub fn empty() -> Self {
        Self(Vec::new())
    }

    /// Adds `platform`; one already known by its id is replaced, so a user's own
    /// implementation can stand in for a built-in one.
    pub fn register(&mut self, platform: Arc<dyn Platform>) {
        self.0.retain(|known| known.id() != platform.id());
        self.0.push(platform);
    }

    /// The platform with this id.
    pub fn get(&self, id: &str) -> Option<&dyn Platform> {
        self.0.iter().find(|p| p.id() == id).map(|p| &**p)
    }

    /// The ids, in the order the platforms were added.
    pub fn ids(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().map(|p| p.id())
    }
}

impl Default for Platforms {
    /// The built-in platforms.
    fn default() -> Self {
        Self::builtin()
    }
}

impl std::fmt::Debug for Platforms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.ids()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Adapter, ChannelSettings, SettingError};

    struct Named(&'static str);

    impl Platform for Named {
        fn id(&self) -> &'static str {
            self.0
        }

        fn configure(&self, _: &ChannelSettings) -> Result<Option<Arc<dyn Adapter>>, SettingError> {
            Ok(None)
        }
    }

    #[test]
    fn a_registered_platform_is_found_and_replaces_one_of_its_id() {
        let mut platforms = Platforms::empty();
        platforms.register(Arc::new(Named("mychat")));
        platforms.register(Arc::new(Named("other")));
        platforms.register(Arc::new(Named("mychat")));
        assert_eq!(platforms.ids().collect::<Vec<_>>(), ["other", "mychat"]);
        assert!(platforms.get("mychat").is_some());
        assert!(platforms.get("nope").is_none());
        assert_eq!(format!("{platforms:?}"), r#"["other", "mychat"]"#);
    }
}
