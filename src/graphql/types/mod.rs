//! GraphQL object types, mapped from entities and domain types. Entities are not the API: a
//! column rename never changes the schema.

pub mod analytics;
pub mod catalog;
pub mod claim;
pub mod claim_enums;
pub mod enums;
pub mod order;
pub mod payloads;
pub mod plugin;

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};

use crate::domain::money::Won;

/// An amount of Korean won (원) as a whole number (KRW has no minor unit). A JSON number,
/// never fractional, exact up to 2^53.
#[Scalar(name = "Won")]
impl ScalarType for Won {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::Number(n) => n
                .as_i64()
                .map(Won::new)
                .ok_or_else(|| InputValueError::custom("Won must be a whole number of won")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::Number(self.amount().into())
    }
}
