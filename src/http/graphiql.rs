//! GraphiQL, offline: the page is `web/graphiql.html`, compiled into the binary, and its
//! scripts and styles come from the pinned npm packages in `web/node_modules`
//! (`npm ci --prefix web`), never from a CDN.

use std::path::Path;

use axum::response::Html;
use axum::routing::get;
use axum::Router;
use tower_http::services::ServeDir;

use super::HttpState;

const PAGE: &str = include_str!("../../web/graphiql.html");

/// The packages the page loads, each served from its own folder only.
const PACKAGES: [&str; 3] = ["react", "react-dom", "graphiql"];

fn missing_assets_page(dir: &Path) -> String {
    format!(
        "<!doctype html><meta charset=utf-8><title>OMS GraphiQL</title>\
         <h1>GraphiQL's files are not installed</h1>\
         <p>Run <code>npm ci --prefix web</code> in the repository, then restart the server \
         (looked in <code>{}</code>; set <code>--graphiql-assets</code> to change it).</p>",
        dir.display()
    )
}

/// `/graphiql` and `/graphiql/assets/...`.
pub fn router(assets: &Path) -> Router<HttpState> {
    let installed = assets.join("graphiql").join("graphiql.min.js").is_file();
    if !installed {
        tracing::warn!(dir = %assets.display(), "GraphiQL assets missing; run `npm ci --prefix web`");
        let page = missing_assets_page(assets);
        return Router::new().route("/graphiql", get(move || async move { Html(page) }));
    }
    let mut router = Router::new().route("/graphiql", get(|| async { Html(PAGE) }));
    for package in PACKAGES {
        router = router.nest_service(
            &format!("/graphiql/assets/{package}"),
            ServeDir::new(assets.join(package)),
        );
    }
    router
}
