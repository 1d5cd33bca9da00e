export { createAgate } from './create-agate.js';
export type { Agate, AgateHook, AgateOptions } from './create-agate.js';
