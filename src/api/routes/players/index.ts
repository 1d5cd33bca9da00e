export { registerPlayerRoutes } from './player-routes.js';
