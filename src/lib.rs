//! newswire: site content in, valid feeds out.
//!
//! The modules follow the data flow: `content` and `ingest` turn files and API
//! payloads into [`model::Item`]s, every item passes the `gate`, `store` persists
//! them and says which feeds changed (`catalog` says which feeds exist and which
//! items each holds), `render` turns a feed's items into documents, `cache` holds
//! those documents as ready-made bytes, and `http` only moves the bytes. `site`
//! wires the stages together and runs the supervised background tasks.

pub mod cache;
pub mod catalog;
pub mod config;
pub mod content;
pub mod cores;
pub mod depth;
pub mod gate;
pub mod hash;
pub mod heap;
pub mod http;
pub mod import;
pub mod ingest;
pub mod instance;
pub mod localtime;
pub mod lock;
pub mod merge;
pub mod metrics;
pub mod model;
pub mod poller;
pub mod rate;
pub mod render;
pub mod site;
pub mod sources;
pub mod store;
pub mod story;
pub mod text;
pub mod view;
pub mod websub;
