// Intentionally empty: cbor-x only uses the native accelerator when this
// module exports `extractStrings`, and otherwise decodes in JavaScript.
module.exports = undefined;
