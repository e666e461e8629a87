// llmseal-verify: the llmseal receipt verifier as an ES module (Chromium and Node).
export { verify, contentHash, locate } from './verify.js';
export { canonicalize } from './jcs.js';
export { parseJson } from './json.js';
export { parseKeySet, revokedAsOf } from './keyset.js';
export { checkReceipt, signingText } from './receipt.js';
export { hashJson, hashResponse, readNdjson, readStream } from './content.js';
export { InputError } from './errors.js';
export { parseCheckpoint, parsePolicy, parseProof, verifyLogEvidence } from './tlog.js';
export { loadVerifier, parseNote, parseVkey } from './note.js';
export { leafHash, verifyConsistency, verifyInclusion } from './merkle.js';
export { checkDisclosure, digestOf, parseBundle, verifyBundle } from './bundle.js';
export { applyTransform, checkLinks } from './chain.js';
