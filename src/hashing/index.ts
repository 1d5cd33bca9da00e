export { canonicalJson } from './canonical-json.js';
export { deriveEventSeed } from './event-seed.js';
export { chainLink, eventContentHash, hashCanonical, sessionRootHash, sha256 } from './hashes.js';
export type { EventContent, SessionIdentity, Sha256 } from './hashes.js';
