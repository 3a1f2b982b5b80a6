//! Every mapped component reproduces OFIQ's conformance table: 23 components × 28 rows.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

use shiren_face::Component;

const TABLE: &str = include_str!("data/ofiq_expected_results.csv");

#[test]
fn mapped_components_reproduce_the_oracle_exactly() {
    let mut lines = TABLE.lines();
    let header: Vec<&str> = lines.next().unwrap().split(';').collect();
    let rows: Vec<Vec<&str>> =
        lines.filter(|l| !l.trim().is_empty()).map(|l| l.split(';').collect()).collect();
    assert_eq!(rows.len(), 28);
    let column =
        |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no column {name}"));
    let mut checked = 0;
    for component in Component::MAPPED {
        let raw_col = column(component.name());
        let scalar_col = column(&format!("{}.scalar", component.name()));
        for row in &rows {
            let raw: f64 = row[raw_col].parse().unwrap();
            let expected: f64 = row[scalar_col].parse().unwrap();
            let got = component.scalar(raw).unwrap();
            // Raw values are printed to 6 decimals; only the unrounded DynamicRange
            // (12.5 × raw) can differ by that printing, at most 12.5 × 5e-7.
            let tolerance = if *component == Component::DynamicRange { 1e-5 } else { 0.0 };
            assert!(
                (got - expected).abs() <= tolerance,
                "{} on {}: raw {raw} → {got}, expected {expected}",
                component.name(),
                row[0]
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 23 * 28);
}
