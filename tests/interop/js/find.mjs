// Usage: node find.mjs <relay-ws-url> <automerge-url-or-id>
//
// Finds the document through the relay, waits until we hold everything the
// relay holds, and prints `{"url", "heads", "hexHeads", "doc"}` (see `report` in lib.mjs).
// If the relay answers `doc-unavailable`, prints `{"unavailable": "<url>"}`
// and exits with code 3.

import { args, connect, done, emit, find, report, waitOnRelay } from "./lib.mjs";

const [url, target] = args(2, "<relay-ws-url> <automerge-url-or-id>");
const session = await connect(url);
const handle = await find(session, target);
const heads = await waitOnRelay(session.repo, session.relay, handle);
emit(report(handle, heads));
await done(session);
