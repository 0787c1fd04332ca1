//! The README's "Where the engines differ, and why" is the declared table
//! (`conformance::differences`), which the scenarios check against the engines.

use conformance::differences;

fn readme() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_readme_shows_the_declared_engine_differences() {
    let readme = readme();
    assert!(readme.contains("## Where the engines differ, and why"), "the section is missing");
    let table = differences::markdown();
    assert!(
        readme.contains(&table),
        "README.md's table of engine differences is not the declared one; paste the output of \
         `cargo run -p conformance -- --differences`:\n{table}"
    );
    let limbo = differences::limbo_disagreements_markdown();
    assert!(
        readme.contains(&limbo),
        "README.md's x509-limbo disagreements are not the declared ones:\n{limbo}"
    );
}

#[test]
fn every_declared_difference_is_a_scenario_with_an_answer_per_engine() {
    for d in differences::DIFFERENCES {
        assert!(conformance::scenarios::find(d.scenario).is_some(), "{}: no scenario", d.scenario);
        for engine in differences::ENGINES {
            assert!(d.answer_of(engine).is_some(), "{}: nothing declared for {engine}", d.scenario);
        }
    }
    let limbo = differences::limbo_answers();
    assert!(limbo.contains_key("rustls") && limbo.contains_key("openssl"), "{:?}", limbo.keys());
}
