import { createHash, randomBytes } from 'node:crypto';

const prefix = 'agk_';
const keyPattern = /^agk_[A-Za-z0-9_-]{43}$/;

/** A new secret: `agk_` and 32 bytes from the CSPRNG, base64url. */
export function newKeySecret(): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

/** True when the text has the shape of a key (so malformed ones never reach the database). */
export function looksLikeKey(text: string): boolean {
  return keyPattern.test(text);
}

/** What is stored: sha256 of the key's UTF-8 text. The key itself is never stored. */
export function hashKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}
