#![doc = include_str!("../README.md")]

pub mod frame;
pub mod hostdirs;
pub mod hubapi;
pub mod identity;
pub mod pages;
pub mod ports;
pub mod progress;
pub mod proxy;
pub mod session;
