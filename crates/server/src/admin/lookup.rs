//! `GET /conversations/{channel}/{conversation}`: the state a conversation is in and what its
//! bot remembered there, as the admin page shows it.

use botwire_store::ConversationKey;
use http::{Response, StatusCode};
use serde::Serialize;

use crate::App;
use crate::respond::{self, Body};

/// How long a lookup waits for the stores.
const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

#[derive(Serialize)]
struct ConversationView<'a> {
    channel: &'a str,
    conversation: &'a str,
    /// `botwire` (its state store) or `platform` (sent with each delivery; botwire has none).
    state_kept_by: &'static str,
    /// The state botwire keeps for it; `null` before its first move, or when the platform
    /// keeps it.
    state: Option<String>,
    version: Option<u64>,
    /// `(key, value)` pairs in key order; `null` when the store could not list them.
    data: Option<Vec<Entry>>,
    data_error: Option<&'static str>,
}

#[derive(Serialize)]
struct Entry {
    key: String,
    value: String,
}

pub(super) async fn get(app: &App, channel: &str, conversation: &str) -> Response<Body> {
    let Some(route) = app.route_by_channel(channel) else {
        return respond::error(StatusCode::NOT_FOUND, "unknown_channel", "no such channel");
    };
    let state_kept_by = route.state_kept_by();
    let (state, version) = if route.adapter.carries_state() {
        (None, None)
    } else {
        let key = ConversationKey::new(&route.name, conversation);
        match tokio::time::timeout(READ_TIMEOUT, app.states().load(&key)).await {
            Ok(Ok(found)) => found.map_or((None, None), |v| (Some(v.state), Some(v.version))),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "lookup: the state store is unavailable");
                return unavailable();
            }
            Err(_) => {
                tracing::warn!("lookup: the state store did not answer in time");
                return unavailable();
            }
        }
    };
    let listed = tokio::time::timeout(READ_TIMEOUT, app.data().entries(&route.name, conversation));
    let (data, data_error) = match listed.await {
        Ok(Ok(entries)) => (
            Some(
                entries
                    .into_iter()
                    .map(|(key, value)| Entry { key, value })
                    .collect(),
            ),
            None,
        ),
        // The state is still worth showing; the store's own words stay in the log.
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "lookup: conversation data could not be listed");
            (
                None,
                Some("the store could not list this conversation's data"),
            )
        }
        Err(_) => {
            tracing::warn!("lookup: conversation data did not answer in time");
            (
                None,
                Some("the store did not list this conversation's data in time"),
            )
        }
    };
    respond::serialized(&ConversationView {
        channel: &route.name,
        conversation,
        state_kept_by,
        state,
        version,
        data,
        data_error,
    })
}

fn unavailable() -> Response<Body> {
    respond::error(
        StatusCode::SERVICE_UNAVAILABLE,
        "store_unavailable",
        "the state store is unavailable",
    )
}
