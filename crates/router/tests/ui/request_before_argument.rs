use postern_core::Request;
use postern_router::HttpServer;

fn main() {
    let mut server = HttpServer::new();
    let _ = server.route("/user/", |request: &Request, id: u32| format!("{id} {}", request.path()));
}
