//! E-mail marketing (seed 000): the template and media libraries, campaigns with their
//! approval bound to the content, audiences, and the send engine.

pub mod media;
pub mod template;
