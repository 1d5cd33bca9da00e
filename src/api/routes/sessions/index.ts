export { registerSessionRoutes } from './session-routes.js';
