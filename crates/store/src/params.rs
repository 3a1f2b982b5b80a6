//! The values bound to one multi-row statement, and the numbered placeholders that
//! name them (numbered on from the values already held). Owns no SQL of its own.
//!
//! A value also serialises as itself in JSON (a string, a number or `null`), for
//! PostgreSQL's whole-batch commit, which binds each table's rows as one JSON array.

use sqlx::Any;
use sqlx::any::AnyArguments;
use sqlx::query::Query;

/// One bound value.
pub(crate) enum Param {
    Text(String),
    Int(i64),
    MaybeText(Option<String>),
}

impl serde::Serialize for Param {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Param::Text(text) => serializer.serialize_str(text),
            Param::Int(n) => serializer.serialize_i64(*n),
            Param::MaybeText(text) => text.serialize(serializer),
        }
    }
}

/// The values of one statement, in placeholder order.
#[derive(Default)]
pub(crate) struct Params {
    values: Vec<Param>,
}

impl Params {
    /// Adds `rows` (each the same number of values) and returns their placeholders,
    /// `($k, $k+1, …), (…)`, numbered after the values already held.
    pub(crate) fn rows(&mut self, rows: impl IntoIterator<Item = Vec<Param>>) -> String {
        let mut tuples = Vec::new();
        for row in rows {
            let first = self.values.len() + 1;
            let numbers: Vec<String> = (first..first + row.len()).map(|n| format!("${n}")).collect();
            tuples.push(format!("({})", numbers.join(", ")));
            self.values.extend(row);
        }
        tuples.join(", ")
    }

    /// `sql` with every value bound.
    pub(crate) fn bind(self, sql: &str) -> Query<'_, Any, AnyArguments<'_>> {
        self.values.into_iter().fold(sqlx::query(sql), |query, value| match value {
            Param::Text(text) => query.bind(text),
            Param::Int(n) => query.bind(n),
            Param::MaybeText(text) => query.bind(text),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbering_continues_across_parts() {
        let mut params = Params::default();
        let a = params.rows([vec![Param::Int(1), Param::Int(2)], vec![Param::Int(3), Param::Int(4)]]);
        let b = params.rows([vec![Param::Text("x".into())]]);
        assert_eq!(a, "($1, $2), ($3, $4)");
        assert_eq!(b, "($5)");
        assert_eq!(params.rows(Vec::<Vec<Param>>::new()), "");
    }

    #[test]
    fn rows_serialise_as_json_arrays() -> Result<(), serde_json::Error> {
        let rows = vec![
            vec![Param::Text("a\"b".into()), Param::Int(i64::MIN), Param::MaybeText(None)],
            vec![Param::Text(String::new()), Param::Int(i64::MAX), Param::MaybeText(Some("x".into()))],
        ];
        assert_eq!(
            serde_json::to_string(&rows)?,
            r#"[["a\"b",-9223372036854775808,null],["",9223372036854775807,"x"]]"#
        );
        Ok(())
    }
}
