//! Typed states at compile time: a bot with an enum of states compiles, and a misspelled
//! state in `goto` (or a value of another type) does not.

#[test]
fn typed_states_are_checked_by_the_compiler() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/compile-pass/*.rs");
    cases.compile_fail("tests/compile-fail/*.rs");
}
