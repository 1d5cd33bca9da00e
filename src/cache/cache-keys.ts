/*
 * Every key the cache writes. Ids are lower-cased so one session has one key however a caller
 * spells its id. Rules names are identifiers from the game catalog, never free input.
 */

export function hotStateKey(tenantId: string, sessionId: string): string {
  return `agate:hot:${tenantId.toLowerCase()}:${sessionId.toLowerCase()}`;
}

/** The sorted set of verified scores: member the session id, score the game's score. */
export function leaderboardKey(tenantId: string, rules: string): string {
  return `agate:lb:${tenantId.toLowerCase()}:${rules}`;
}

/** Present once the sorted set holds every verified session (a full rebuild finished). */
export function leaderboardBuiltKey(tenantId: string, rules: string): string {
  return `agate:lb-built:${tenantId.toLowerCase()}:${rules}`;
}

/** Where a rebuild collects scores before it renames them into place. */
export function leaderboardBuildKey(tenantId: string, rules: string, buildId: string): string {
  return `agate:lb-build:${tenantId.toLowerCase()}:${rules}:${buildId}`;
}
