/**
 * The names the installed package promises at least, per entry point (issue 17's contract).
 * The README's "Add your own game" list may only add to them; both package tests import these.
 */
export const contractedExports: Readonly<Record<string, readonly string[]>> = {
  agate: [
    'createAgate',
    'createPool',
    'defineEventTypes',
    'createGameCatalog',
    'sessionEndedV1',
    'rngFromSeed',
    'rngFromState',
    'isRngState',
    'archiveGateV1',
    'AgateError',
    'isAgateError',
    'errorCodes',
    'replaySession',
    'stateHash',
    'loadGameCatalog',
  ],
  'agate/client': ['AgateClient'],
  'agate/testing': ['proveDeterminism', 'recordFixture', 'checkFixtures'],
  'agate/eslint': ['gamePurity'],
};
