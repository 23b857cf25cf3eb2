//! The CDN (attachments, avatars, icons, emojis). Empty until the CDN issue builds it.
