//! The delivery-log page: one HTML file, its stylesheet and its script, compiled into the
//! binary (no build step, nothing fetched from elsewhere). They hold no data, so they are
//! served without the token; the script asks the token-guarded endpoints for everything it
//! shows, and puts every text in the page as text, never as HTML.

use bytes::Bytes;
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use http::{HeaderValue, Response};

use crate::respond::{self, Body};

/// One of the page's files.
#[derive(Debug)]
pub(super) struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: [Asset; 3] = [
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_str!("page/index.html"),
    },
    Asset {
        path: "/assets/page.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("page/page.css"),
    },
    Asset {
        path: "/assets/page.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("page/page.js"),
    },
];

/// The page may run its own script and style and talk to its own origin, nothing else: a
/// message text that slipped through as markup could still not run or load anything.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// The file served at `path`, if it is one of the page's.
pub(super) fn asset(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.path == path)
}

/// Whether `path` is one of the page's files.
pub(super) fn serves(path: &str) -> bool {
    asset(path).is_some()
}

/// `asset`, with the headers that keep it to itself.
pub(super) fn serve(asset: &'static Asset) -> Response<Body> {
    let mut response = respond::ok(
        asset.content_type,
        Bytes::from_static(asset.body.as_bytes()),
    );
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // A new binary may bring a new page: the browser asks again each time.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_only_its_own_files() {
        let index = asset("/").expect("the page");
        for path in ["/assets/page.css", "/assets/page.js"] {
            assert!(index.body.contains(&format!("\"{path}\"")), "{path}");
            assert!(serves(path));
        }
        assert!(
            !index.body.contains("<script>"),
            "no inline script: the policy forbids it"
        );
        assert!(!index.body.contains("style="), "no inline style either");
        assert!(!serves("/assets/other.js"));
        assert!(!serves("/deliveries"));
    }

    #[test]
    fn the_script_never_writes_markup() {
        let script = asset("/assets/page.js").expect("the script").body;
        for markup in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
        ] {
            assert!(!script.contains(markup), "{markup}");
        }
    }

    #[test]
    fn each_file_says_what_it_is_and_forbids_the_rest() {
        let response = serve(asset("/assets/page.js").expect("the script"));
        let headers = response.headers();
        assert_eq!(headers["content-type"], "text/javascript; charset=utf-8");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let policy = headers["content-security-policy"].to_str().expect("ascii");
        assert!(
            policy.starts_with("default-src 'none'; script-src 'self';"),
            "{policy}"
        );
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    }
}
