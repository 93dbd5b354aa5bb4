// Usage: node edit.mjs <relay-ws-url> <automerge-url-or-id> <key> <json-value>
//
// Finds the document, sets the root key `key` to the parsed JSON value (so a
// string is passed as '"text"'), waits until the relay durably holds the
// change, and prints `{"url", "heads", "hexHeads", "doc"}` (see `report` in lib.mjs).
// Exits with code 3 if the relay says the document is unavailable.

import { args, connect, done, emit, fail, find, report, setStep, waitOnRelay } from "./lib.mjs";

const [url, target, key, json] = args(4, "<relay-ws-url> <automerge-url-or-id> <key> <json-value>");
let value;
try {
  value = JSON.parse(json);
} catch (error) {
  fail(`the value must be JSON (quote strings): ${error.message}`);
}
const session = await connect(url);
const handle = await find(session, target);
// Start from everything the relay has, so the edit is made on top of it.
await waitOnRelay(session.repo, session.relay, handle);
setStep(`setting ${key}`);
handle.change(doc => {
  doc[key] = value;
});
const heads = await waitOnRelay(session.repo, session.relay, handle);
emit(report(handle, heads));
await done(session);
