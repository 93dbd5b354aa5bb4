// Shared plumbing for the interop scripts: a stock automerge-repo `Repo` with
// one WebSocket network adapter (no storage), a hard deadline for the whole
// process, JSON-line output, and waiting for the relay to hold our changes.
//
// Conventions every script follows:
// - stdout carries exactly one JSON object per line (machine-readable);
// - human-readable diagnostics go to stderr;
// - exit 0 on success, 1 on any failure, 2 when the deadline passed,
//   3 when the relay said the document is unavailable.

import { Repo, decodeHeads } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";

/** Exit code: the deadline passed. */
export const EXIT_TIMEOUT = 2;
/** Exit code: the relay answered `doc-unavailable`. */
export const EXIT_UNAVAILABLE = 3;

/** Milliseconds the whole script may take (`INTEROP_TIMEOUT_MS`, default 20 s). */
const DEADLINE_MS = Number(process.env.INTEROP_TIMEOUT_MS ?? 20000);

let step = "starting";

/** Records what the script is doing, for the timeout message. */
export function setStep(description) {
  step = description;
}

/** Prints `message` on stderr and exits with `code`. */
export function fail(message, code = 1) {
  process.stderr.write(`${scriptName()}: ${message}\n`);
  process.exit(code);
}

function scriptName() {
  return (process.argv[1] ?? "interop").split("/").pop();
}

// A single deadline for the whole process: the WebSocket adapter retries
// forever on its own, so without this an unreachable relay would hang the
// test. Every script ends with `process.exit`, so this timer never delays it.
setTimeout(() => fail(`timed out after ${DEADLINE_MS} ms while ${step}`, EXIT_TIMEOUT), DEADLINE_MS);

// The adapter throws socket errors (for example an HTTP 401 during the
// upgrade) from an event handler; turn them into a clean failure.
process.on("uncaughtException", error => fail(`uncaught: ${error?.stack ?? error}`));
process.on("unhandledRejection", error => fail(`unhandled rejection: ${error?.stack ?? error}`));

/** Prints one JSON line on stdout. */
export function emit(value) {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Returns the positional arguments, failing with `usage` if there are fewer than `count`. */
export function args(count, usage) {
  const positional = process.argv.slice(2);
  if (positional.length < count) {
    fail(`usage: node ${scriptName()} ${usage}`);
  }
  return positional;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms) {
  return new Promise(resolve => setTimeout(resolve, ms));
}

/**
 * Connects a storage-less repo to the relay at `url` (`ws://…/sync?token=…`)
 * and waits until the relay's `peer` handshake reply has arrived.
 *
 * Waiting matters: the adapter declares itself "ready" after one second even
 * without a peer, and a `find` issued with no peer connected would end as
 * "unavailable" without ever asking the relay.
 *
 * Returns `{ repo, relay, adapter }` where `relay` is the relay's peer id.
 */
export async function connect(url) {
  setStep(`connecting to ${url}`);
  const adapter = new WebSocketClientAdapter(url);
  const repo = new Repo({ network: [adapter] });
  while (!(adapter.remotePeerId && repo.peers.includes(adapter.remotePeerId))) {
    await sleep(10);
  }
  return { repo, relay: adapter.remotePeerId, adapter };
}

function sameHeads(a, b) {
  return a.length === b.length && a.every(head => b.includes(head));
}

/**
 * Waits until the relay holds exactly our heads for `handle`.
 *
 * How we know: each sync message the relay sends carries its current heads;
 * the repo records them per peer storage id (`handle.getSyncInfo(storageId)`,
 * also announced with the handle's `remote-heads` event). Our relay only
 * advertises heads after the changes behind them are committed to storage
 * (DESIGN.md, durability rule), so equal heads mean the relay durably has
 * every change we made. `repo.flush()` is no help here: it only flushes
 * local storage, and this repo has none.
 */
export async function waitOnRelay(repo, relay, handle) {
  setStep(`waiting for the relay to confirm the heads of ${handle.url}`);
  const storageId = repo.getStorageIdOfPeer(relay);
  if (!storageId) {
    fail("the relay announced no storageId in its peer metadata");
  }
  for (;;) {
    const ours = handle.heads();
    const theirs = handle.getSyncInfo(storageId)?.lastHeads ?? [];
    if (ours.length > 0 && sameHeads(ours, theirs)) {
      return ours;
    }
    await sleep(10);
  }
}

/**
 * The result line for a document: its URL, its heads both as automerge-repo
 * encodes them (`heads`, bs58check) and as Automerge change hashes (`hexHeads`,
 * what the Rust side compares with), and its content as plain JSON.
 * Automerge's own values (`ImmutableString`, `Counter`) define `toJSON`, so a
 * JSON round trip gives their plain form.
 */
export function report(handle, heads) {
  return {
    url: handle.url,
    heads,
    hexHeads: decodeHeads(heads),
    doc: JSON.parse(JSON.stringify(handle.doc())),
  };
}

/**
 * Closes the connection cleanly (a WebSocket close handshake, so the relay
 * does not log a reset), then exits with `code` without waiting for the
 * adapter's reconnect timers.
 */
export async function done({ repo, adapter }, code = 0) {
  setStep("closing the connection");
  const socket = adapter.socket;
  const closed = new Promise(resolve => {
    if (!socket || socket.readyState === socket.CLOSED) {
      resolve();
    } else {
      socket.addEventListener("close", () => resolve());
    }
  });
  await repo.shutdown();
  await Promise.race([closed, sleep(1000)]);
  process.exit(code);
}

/**
 * `repo.find`, except that a `doc-unavailable` answer prints
 * `{"unavailable": target}`, explains itself on stderr, closes the
 * connection and exits with {@link EXIT_UNAVAILABLE}.
 */
export async function find(session, target) {
  setStep(`finding ${target}`);
  try {
    return await session.repo.find(target);
  } catch (error) {
    if (!/unavailable/i.test(String(error?.message))) {
      throw error;
    }
    emit({ unavailable: target });
    process.stderr.write(`${scriptName()}: the relay says ${target} is unavailable\n`);
    return done(session, EXIT_UNAVAILABLE);
  }
}
