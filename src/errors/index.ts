export { AgateError, errorCodes, isAgateError } from './agate-error.js';
export type { ErrorCode } from './agate-error.js';
