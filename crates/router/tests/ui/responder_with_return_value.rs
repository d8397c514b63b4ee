use postern_core::Responder;
use postern_router::HttpServer;

fn main() {
    let mut server = HttpServer::new();
    let _ = server.route("/x", |_responder: Responder| String::from("returned"));
}
