//! Which methods each path of the API has, from the published document: a path that exists
//! with another method answers 405 with `Allow`, not 404 (nor the 400 of a path parameter
//! that a static path shadows: `DELETE /api/sessions/history`).

use actix_web::dev::ResourceDef;
use actix_web::{HttpRequest, web};

use crate::error::Error;

/// Why no route answered: 405 with `Allow` when the path is an endpoint's with another
/// method, 404 otherwise.
pub fn unmatched(request: &HttpRequest) -> Error {
    let allowed = request
        .app_data::<web::Data<KnownRoutes>>()
        .map(|routes| routes.methods_for(request.path()))
        .unwrap_or_default();
    if allowed.is_empty() {
        Error::NotFound("No such endpoint")
    } else {
        Error::MethodNotAllowed {
            allow: allowed.join(", "),
        }
    }
}

/// Every path template of the API with its methods, from the published document.
#[derive(Default)]
pub struct KnownRoutes(Vec<(ResourceDef, usize, Vec<&'static str>)>);

impl KnownRoutes {
    pub fn from_document(document: &utoipa::openapi::OpenApi) -> Self {
        let routes = document
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ]
                .into_iter()
                .filter_map(|(method, present)| present.then_some(method))
                .collect();
                let parameters = path.matches('{').count();
                (ResourceDef::new(path.as_str()), parameters, methods)
            })
            .collect();
        Self(routes)
    }

    /// The methods of the endpoint whose template matches `path`: the most specific one
    /// (`/api/sessions/history` is not `/api/sessions/{id}`).
    pub fn methods_for(&self, path: &str) -> Vec<&'static str> {
        let matching = || {
            self.0
                .iter()
                .filter(|(template, _, _)| template.is_match(path))
        };
        let Some(fewest) = matching().map(|(_, parameters, _)| *parameters).min() else {
            return Vec::new();
        };
        let mut methods: Vec<&'static str> = matching()
            .filter(|(_, parameters, _)| *parameters == fewest)
            .flat_map(|(_, _, methods)| methods.iter().copied())
            .collect();
        methods.sort_unstable();
        methods.dedup();
        methods
    }
}

/// 405 when the path's endpoint exists with other methods only.
pub fn wrong_method(request: &HttpRequest) -> Option<Error> {
    let allowed = request
        .app_data::<web::Data<KnownRoutes>>()?
        .methods_for(request.path());
    (!allowed.is_empty() && !allowed.contains(&request.method().as_str())).then(|| {
        Error::MethodNotAllowed {
            allow: allowed.join(", "),
        }
    })
}
