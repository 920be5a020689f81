//! Forward authentication's surroundings: Debian's nginx running `deploy/nginx.conf` in a
//! temporary directory, in front of the API and of a protected app that echoes the
//! identity headers it received.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use api::config::Settings;
use serde_json::{Map, Value, json};

use super::{Device, TestApp, spawn_app_with};

/// The API, the protected app (at `/app/`) and nginx in front of both, at one origin (the
/// nginx's), configured as `deploy/nginx.conf` says.
pub struct Site {
    pub app: TestApp,
    pub nginx: Nginx,
    _echo: EchoApp,
}

impl Site {
    pub fn origin(&self) -> String {
        self.nginx.url("")
    }

    /// The same browser (cookie jar and user agent) going through nginx: cookies do not
    /// depend on the port.
    pub fn through_nginx(&self, device: &Device) -> Device {
        Device {
            client: device.client.clone(),
            jar: device.jar.clone(),
            base: self.origin(),
            user_agent: device.user_agent,
        }
    }
}

/// The site, or `None` (the test skips itself) without nginx, unless the full suite requires
/// it (`REQUIRE_BROWSER_TEST`). `configure` adjusts the API's settings.
pub async fn spawn_site(configure: impl FnOnce(&mut Settings)) -> Option<Site> {
    let Some(binary) = nginx_binary() else {
        assert!(
            std::env::var_os("REQUIRE_BROWSER_TEST").is_none(),
            "nginx is missing (Debian's nginx-light; scripts/test installs it)"
        );
        eprintln!("SKIPPED: forward-auth test: nginx is missing; run scripts/test");
        return None;
    };
    let port = free_port();
    let origin = format!("http://127.0.0.1:{port}");
    let app = spawn_app_with(|settings| {
        settings.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        settings.server.public_url = Some(origin.clone());
        settings.server.allowed_origins.push(origin.clone());
        settings.forward_auth.return_to_origins = vec![origin.clone()];
        configure(settings);
    })
    .await;
    let echo = spawn_echo_app();
    let nginx = Nginx::start(&binary, port, app.port, echo.port).await;
    Some(Site {
        app,
        nginx,
        _echo: echo,
    })
}

/// A port free now (for a server whose address must be known before it starts).
pub fn free_port() -> u16 {
    pg_harness::free_port().expect("a free port on 127.0.0.1")
}

/// The protected app: answers every request with the `x-auth-*` headers it got and its path.
pub struct EchoApp {
    pub port: u16,
    server: actix_web::dev::ServerHandle,
}

impl Drop for EchoApp {
    fn drop(&mut self) {
        drop(self.server.stop(false));
    }
}

async fn echo(request: HttpRequest) -> HttpResponse {
    let identity: Map<String, Value> = request
        .headers()
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("x-auth-"))
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                json!(value.to_str().unwrap_or_default()),
            )
        })
        .collect();
    HttpResponse::Ok().json(json!({"path": request.uri().to_string(), "identity": identity}))
}

pub fn spawn_echo_app() -> EchoApp {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(|| App::new().default_service(web::to(echo)))
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
    let handle = server.handle();
    tokio::spawn(server);
    EchoApp {
        port,
        server: handle,
    }
}

/// Whether nginx is installed (Debian's `nginx-light` has `auth_request`).
pub fn nginx_binary() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
}

/// A private nginx (its own pid, logs and temporary files) running the shipped
/// `deploy/nginx.conf` on `port`, with its two upstreams pointed at `api_port` and
/// `app_port`. Stopped when dropped.
pub struct Nginx {
    pub port: u16,
    dir: PathBuf,
    binary: PathBuf,
}

impl Nginx {
    pub async fn start(binary: &Path, port: u16, api_port: u16, app_port: u16) -> Nginx {
        let shipped = include_str!("../../../../../deploy/nginx.conf");
        let site = shipped
            .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
            .replace(
                "server 127.0.0.1:8000;",
                &format!("server 127.0.0.1:{api_port};"),
            )
            .replace(
                "server 127.0.0.1:8080;",
                &format!("server 127.0.0.1:{app_port};"),
            );
        assert!(
            site.contains(&format!(":{app_port};")),
            "deploy/nginx.conf changed shape"
        );
        let dir = std::env::temp_dir().join(format!("sm-nginx-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        let d = dir.display();
        let config = format!(
            "daemon on;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/tmp/body;\n  \
             proxy_temp_path {d}/tmp/proxy;\n  fastcgi_temp_path {d}/tmp/fastcgi;\n  \
             uwsgi_temp_path {d}/tmp/uwsgi;\n  scgi_temp_path {d}/tmp/scgi;\n{site}\n}}\n"
        );
        let file = dir.join("nginx.conf");
        std::fs::write(&file, config).unwrap();
        let status = Command::new(binary)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&file)
            .status()
            .expect("nginx starts");
        let log = dir.join("error.log");
        let error_log = || std::fs::read_to_string(&log).unwrap_or_default();
        assert!(
            status.success(),
            "nginx refused its configuration: {}",
            error_log()
        );
        let nginx = Nginx {
            port,
            dir: dir.clone(),
            binary: binary.to_owned(),
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return nginx;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("nginx never listened: {}", error_log());
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let file = self.dir.join("nginx.conf");
        let _ = Command::new(&self.binary)
            .arg("-p")
            .arg(&self.dir)
            .arg("-c")
            .arg(&file)
            .args(["-s", "stop"])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
