use postern_router::HttpServer;

fn main() {
    let mut server = HttpServer::new();
    let _ = server.route("/x/", |a: u8, b: u8, c: u8, d: u8, e: u8, f: u8, g: u8| {
        format!("{a}{b}{c}{d}{e}{f}{g}")
    });
}
