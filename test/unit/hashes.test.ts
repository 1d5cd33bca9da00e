import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  chainLink,
  eventContentHash,
  hashCanonical,
  sessionRootHash,
} from '../../src/hashing/index.js';

describe('canonical hashing', () => {
  it('writes RFC 8785 canonical JSON: sorted keys, no spaces, shortest numbers', () => {
    expect(canonicalJson({ b: [1, 2.5, 1e21], a: { d: 'é', c: null } })).toBe(
      '{"a":{"c":null,"d":"é"},"b":[1,2.5,1e+21]}',
    );
  });

  it('hashes equal values equally whatever their key order', () => {
    expect(hashCanonical({ x: 1, y: [true, { p: 1, q: 2 }] })).toEqual(
      hashCanonical({ y: [true, { q: 2, p: 1 }], x: 1 }),
    );
  });

  // Pinned outputs: if one of these changes, every stored chain stops verifying.
  it('keeps the content hash of an event stable', () => {
    const hash = eventContentHash({
      eventId: '0190a6c8-0000-7000-8000-000000000001',
      type: 'counter.incremented',
      version: 1,
      data: { by: 1 },
    });
    expect(hash.toString('hex')).toBe(pinned.content);
  });

  it('keeps the session root and chain links stable', () => {
    const root = sessionRootHash({
      sessionId: '0190a6c8-0000-7000-8000-0000000000a1',
      tenantId: '0190a6c8-0000-7000-8000-0000000000b1',
      seed: 'seed',
      rules: 'tiny',
      rulesVersion: 1,
    });
    expect(root.toString('hex')).toBe(pinned.root);
    expect(chainLink(root, 1, Buffer.alloc(32)).toString('hex')).toBe(pinned.link);
  });

  it('changes the link when the sequence or the content changes', () => {
    const root = Buffer.alloc(32, 1);
    const a = chainLink(root, 1, Buffer.alloc(32));
    expect(chainLink(root, 2, Buffer.alloc(32))).not.toEqual(a);
    expect(chainLink(root, 1, Buffer.alloc(32, 2))).not.toEqual(a);
  });
});

const pinned = {
  content: 'd2af0e836e974e9d92ea8b77120decc969498500fb3748fc121407fdf71075dc',
  root: 'd90f43e21146d3d98e95827ae8fb5e0fad165dae0fb2e7370a3588b5e43e2470',
  link: 'd4fcd052cdbeb1a8a905610143bfdc238224e30bbf481aa9c51362b5ad6411b2',
};
