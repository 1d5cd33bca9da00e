import { randomFillSync } from 'node:crypto';
import { V7Generator } from 'uuidv7';

// Random bits drawn from the CSPRNG 4 KiB at a time: the uuidv7 package's default source asks
// the CSPRNG for every id, which cost more than the rest of shaping an event (1.5 µs vs 0.34 µs).
const pool = new Uint32Array(1024);
let next = pool.length;

const generator = new V7Generator({
  nextUint32(): number {
    if (next === pool.length) {
      randomFillSync(pool);
      next = 0;
    }
    const value = pool[next] ?? 0;
    next += 1;
    return value;
  },
});

/** A new event id: a UUIDv7 (time-ordered, monotonic within this process), in lower case. */
export function newEventId(): string {
  return generator.generate().toString();
}
