// Usage: node create.mjs <relay-ws-url> [title]
//
// Creates a document `{ title, items: ["one", "two"] }` (title defaults to
// "from js"), waits until the relay durably holds it, and prints
// `{"url", "heads", "hexHeads", "doc"}` (see `report` in lib.mjs).

import { args, connect, done, emit, report, setStep, waitOnRelay } from "./lib.mjs";

const [url, title = "from js"] = args(1, "<relay-ws-url> [title]");
const session = await connect(url);
const { repo, relay } = session;
setStep("creating the document");
const handle = repo.create({ title, items: ["one", "two"] });
const heads = await waitOnRelay(repo, relay, handle);
emit(report(handle, heads));
await done(session);
