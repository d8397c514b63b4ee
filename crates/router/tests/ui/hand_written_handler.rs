use postern_core::{Request, Responder};
use postern_router::handler::Reply;
use postern_router::{ArgType, Handler};

/// `Handler` is sealed: even a complete impl outside the crate does not compile.
struct Mine;

impl Handler<()> for Mine {
    fn arg_types() -> Vec<ArgType> {
        Vec::new()
    }

    fn converts(_: &[&str]) -> bool {
        true
    }

    fn takes_request() -> bool {
        false
    }

    fn call(&self, _: &[&str], _: &Request, _: &mut Option<Responder>) -> Option<Reply> {
        None
    }
}

fn main() {}
