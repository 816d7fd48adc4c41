//! Transport-synced stepping (being written).
