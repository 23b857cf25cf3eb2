//! Operations shared by the REST routes and the `accord admin` command: creating accounts,
//! applications and bots, issuing and revoking tokens.

pub mod access;
pub mod accounts;
pub mod applications;
pub mod audit_log;
pub mod channels;
pub mod command_validate;
pub mod command_writes;
pub mod commands;
pub mod forum;
pub mod guild_payload;
pub mod identify_budget;
pub mod ids;
pub mod images;
pub mod interaction_attachments;
pub mod interaction_components;
pub mod interaction_endpoint;
pub mod interaction_messages;
pub mod interaction_modals;
pub mod interaction_options;
pub mod interaction_responses;
pub mod interactions;
pub mod members;
pub mod messages;
pub mod modal_components;
pub mod moderation;
pub mod permission_cache;
pub mod remote_images;
pub mod roles;
pub mod threads;
pub mod user_cache;
pub mod validate;
pub mod viewers;
