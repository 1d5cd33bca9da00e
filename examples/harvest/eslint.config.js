// The purity rules agate applies to its own rules, on what this game ships: the compiled rules
// (plain JavaScript, so ESLint needs no TypeScript parser here). `npm run build` first.
import { gamePurityFor } from 'agate/eslint';

export default [...gamePurityFor(['dist/src/**/*.js'])];
