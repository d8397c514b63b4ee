use postern_router::HttpServer;

fn main() {
    let mut server = HttpServer::new();
    let _ = server.route("/list/", |items: Vec<u32>| format!("{items:?}"));
}
