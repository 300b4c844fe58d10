//! Customer and seller notifications (알림톡, mail): which events notify whom, the Korean
//! templates, and the channels that carry them.

pub mod channels;
pub mod routing;
pub mod templates;
