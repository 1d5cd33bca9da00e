/** `npm run test:soak` (AGATE_SOAK=1): the heavy variants; CI runs the default, lighter ones. */
export const soak = process.env.AGATE_SOAK === '1';

/** `ci` in the test command, `heavy` under test:soak. */
export function scaled(ci: number, heavy: number): number {
  return soak ? heavy : ci;
}
