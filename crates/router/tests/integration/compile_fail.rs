//! Bad handler signatures fail to compile, with a message that says why.

#[test]
fn bad_handler_signatures() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
