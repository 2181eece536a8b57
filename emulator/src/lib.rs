//! dc-emulator library.
