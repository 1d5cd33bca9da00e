export { createAgate } from './create-agate.js';
export type { Agate, AgateOptions } from './create-agate.js';
