export { createPlayer, playerLimits } from './create-player.js';
export type { CreatePlayerInput } from './create-player.js';
export { erasePlayer } from './erase-player.js';
export type { ErasedPlayer, ErasePlayerInput } from './erase-player.js';
export { exportPlayer } from './export-player.js';
export type { ExportPlayerInput, PlayerAuditEntry, PlayerExport } from './export-player.js';
export { piiColumns } from './pii-columns.js';
export type { Player } from './player.js';
