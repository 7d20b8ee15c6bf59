//! The provider actions, listed once in [`crate::registry`]. Each module holds one action's request type, its validation and
//! the provider call it makes, following the provider's contract written down in `docs/providers/`.

pub mod cloudchat;
pub mod cloudchat_conversation;
pub mod cloudchat_proactive;
pub mod sacflow_message;
pub mod wegly_chat;

pub use cloudchat_conversation::CloudChatCreateConversation;
pub use cloudchat_proactive::CloudChatProactiveWhatsapp;
pub use sacflow_message::SacflowSendMessage;
pub use wegly_chat::WeglyCreateChat;
