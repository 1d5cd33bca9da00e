/** The CLI's exit codes: a contract for scripts (README, "CLI"). */
export const exitCodes = {
  ok: 0,
  failure: 1,
  usage: 2,
  divergence: 3,
} as const;
