//! The login engine: whether to challenge, TOTP enrolment and verification, one-time codes,
//! throttling. (This file grows with the engine; the TOTP primitives are in [`totp`].)

pub mod totp;
