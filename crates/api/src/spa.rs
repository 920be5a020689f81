//! Serves the built frontend (`STATIC_DIR`, e.g. `dist/`): files as they are, and
//! `index.html` for any other non-API path so client-side routes survive a reload.

use std::path::{Component, Path, PathBuf};

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::error::ApiError;

pub fn service(dir: PathBuf) -> actix_web::Route {
    web::to(move |request: actix_web::HttpRequest| {
        let dir = dir.clone();
        async move { serve(&dir, request.path()).await }
    })
}

async fn serve(dir: &Path, path: &str) -> Result<HttpResponse, ApiError> {
    if path.starts_with("/api/") {
        return Err(ApiError::NotFound("No such endpoint"));
    }
    let relative = Path::new(path.trim_start_matches('/'));
    // Never leave the directory.
    if relative
        .components()
        .any(|component| !matches!(component, Component::Normal(_)))
    {
        return Err(ApiError::NotFound("No such file"));
    }
    let candidate = dir.join(relative);
    let file = if !path.ends_with('/')
        && tokio::fs::metadata(&candidate)
            .await
            .is_ok_and(|meta| meta.is_file())
    {
        candidate
    } else {
        dir.join("index.html")
    };
    let body = tokio::fs::read(&file)
        .await
        .map_err(|_| ApiError::NotFound("No such file"))?;
    let mut response = HttpResponse::Ok();
    response.insert_header((header::CONTENT_TYPE, content_type(&file)));
    if file.file_name().is_some_and(|name| name == "index.html") {
        response.insert_header((header::CACHE_CONTROL, "no-cache"));
    }
    Ok(response.body(body))
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|ext| ext.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}
