//! Accord's integration tests, one module per area, against real relay
//! processes on 127.0.0.1 (see `helpers`). A new test goes in the module of
//! its area below; a new area gets a module and a line here.

// Access rules the relay enforces: grants, roles, revocation, tokens, invites.
mod access;
// Malformed input closes only the offending connection and damages nothing stored.
mod bad_input;
// Web client load times under throttling (ignored; run by `cargo xtask bench-web`).
mod bench_web;
// A 10,000-change partnership in the browser: start, keystroke and remote-change times (ignored; `cargo xtask bench-web`).
mod bench_web_big;
// Browser end-to-end basics, one device at a time (the built web app in headless Chromium).
mod browser;
// Browser: the agreement, two organizations typing and signing off.
mod browser_agreement;
// Browser: workshop boards with a facilitator and two organizations.
mod browser_boards;
// Browser: the device's signing key stays non-extractable (new, migrated, fallback).
mod browser_device_key;
// Browser: linked devices of one person.
mod browser_devices;
// Browser: what a person types is kept (tabs, offline, `kill -9`).
mod browser_durability;
// Browser: the clause editor (styles, lists, undo, carets inside the text).
mod browser_editor;
// Browser: who people are (names, profiles, joining by invite).
mod browser_identity;
// Browser: the shipped web app (first paint, install, new version).
mod browser_install;
// Browser: every page at 360, 768 and 1280 px (no sideways scroll, labels, icons).
mod browser_look;
// Browser: negotiating clauses with suggestions.
mod browser_negotiation;
// Browser: the operate pages (meetings, governance, conflicts, risks, health, reviews).
mod browser_operate;
// Browser: the plan pages (vetting, objectives and KPIs, roles, communication, milestones).
mod browser_plan;
// Browser: two organizations on one partnership (invite, live and offline edits).
mod browser_sync;
// Several relay processes on one PostgreSQL database (ownership, leases, fencing).
mod cluster;
// Helper: the browser (Chromium via chromedriver) and its devices (signing in, joining, two people typing in one field), and the two-organization start most browser suites share.
mod device;
// `kill -9` of the relay never loses a change whose heads it advertised.
mod durability;
// Fault injection: storage failures, clients that never read, reconnect storms.
mod faults;
// Helper: what the pages' forms and lists share on a browser device (fill and submit, refusals, restoring removed items).
mod forms;
// Helper: a real relay process, a small client for its JSON API, the relay-with-a-document start, convergence waits.
mod helpers;
// Interop with stock automerge-repo peers through the relay.
mod interop;
// Linked devices against a real relay (link codes, shared grants, revocation).
mod linked_devices;
// The relay on PostgreSQL: data and access survive restarts.
mod postgres;
// Health, metrics, JSON errors and operator subcommands.
mod relay_api;
// How the web app is served and cached (from a directory and built in).
mod shipping;
// Multi-client sync through a real relay.
mod sync;
// Helper: a minimal W3C WebDriver client.
mod webdriver;
