//! SeaORM entities: one module per table of `migration/`.
//!
//! Entities are the persistence shape only; the GraphQL types and the domain types are separate,
//! so renaming a column never changes the API.

pub mod claim;
pub mod claim_event;
pub mod claim_item;
pub mod coupon;
pub mod courier_event;
pub mod customer;
pub mod idempotency_key;
pub mod job_lease;
pub mod order;
pub mod order_coupon;
pub mod order_line;
pub mod order_number_counter;
pub mod order_shipping_group;
pub mod outbox_delivery;
pub mod outbox_message;
pub mod plugin;
pub mod plugin_failure;
pub mod points_ledger;
pub mod policy_activation;
pub mod product;
pub mod product_option;
pub mod refund;
pub mod refund_part;
pub mod seller;
pub mod shipment;
pub mod tender;
pub mod webhook_endpoint;
