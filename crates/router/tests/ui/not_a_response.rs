use postern_router::HttpServer;

struct Page;

fn main() {
    let mut server = HttpServer::new();
    let _ = server.route("/x", || Page);
}
