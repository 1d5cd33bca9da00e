import { createHash, randomBytes } from 'node:crypto';

/** What a key is, by its prefix: `agk_` for a tenant's key, `ago_` for an operator key. */
export type KeyKind = 'tenant' | 'operator';

const prefixes: Readonly<Record<KeyKind, string>> = { tenant: 'agk_', operator: 'ago_' };
const keyPattern = /^(agk|ago)_[A-Za-z0-9_-]{43}$/;

/** A new secret: the kind's prefix and 32 bytes from the CSPRNG, base64url. */
export function newKeySecret(kind: KeyKind = 'tenant'): string {
  return `${prefixes[kind]}${randomBytes(32).toString('base64url')}`;
}

/** The kind of a text that has the shape of a key; undefined otherwise (it never reaches the database). */
export function keyKindOf(text: string): KeyKind | undefined {
  const match = keyPattern.exec(text);
  if (match === null) return undefined;
  return match[1] === 'ago' ? 'operator' : 'tenant';
}

/** What is stored: sha256 of the key's UTF-8 text. The key itself is never stored. */
export function hashKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}
