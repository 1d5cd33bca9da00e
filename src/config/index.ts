export { configFileNames, findConfigFile } from './find-config-file.js';
export { loadGameCatalog } from './load-game-catalog.js';
export type { LoadedCatalog, LoadedGame, LoadGameCatalogOptions } from './load-game-catalog.js';
