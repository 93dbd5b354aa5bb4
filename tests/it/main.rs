//! Accord's integration tests, one module per area, against real relay
//! processes on 127.0.0.1 (see `helpers`).

mod access;
mod bad_input;
mod bench_web;
mod browser;
mod browser_agreement;
mod browser_boards;
mod browser_devices;
mod browser_durability;
mod browser_identity;
mod browser_install;
mod browser_look;
mod browser_negotiation;
mod browser_operate;
mod browser_plan;
mod browser_sync;
mod cluster;
mod device;
mod durability;
mod faults;
mod helpers;
mod interop;
mod linked_devices;
mod postgres;
mod relay_api;
mod shipping;
mod sync;
mod webdriver;
