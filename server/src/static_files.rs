//! The built web app, served from `--web-dir` with precompressed variants and
//! a fallback to `index.html` for client-side routes.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tower::ServiceExt as _;
use tower_http::services::{ServeDir, ServeFile};

use crate::AppState;

/// Fallback handler for every path no API route matched.
pub(crate) async fn serve(State(state): State<AppState>, request: Request<Body>) -> Response {
    let Some(dir) = state.web_dir.clone() else {
        return (
            StatusCode::NOT_FOUND,
            "This relay serves no web app (start it with --web-dir).",
        )
            .into_response();
    };
    let index = ServeFile::new(dir.join("index.html"))
        .precompressed_br()
        .precompressed_gzip();
    let service = ServeDir::new(&dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(index);
    match service.oneshot(request).await {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    }
}
