export { importSessions } from './import-sessions.js';
export type { ImportSessionsInput } from './import-sessions.js';
export { prepareRecordedSession } from './prepare-session.js';
export type { ImportSnapshot, PreparedSession, PrepareSettings } from './prepare-session.js';
export type { ImportedSession, RecordedSession } from './recorded-session.js';
export type { SessionIdentity } from './session-identity.js';
export { writeSession } from './write-session.js';
