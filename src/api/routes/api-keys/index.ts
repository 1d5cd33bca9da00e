export { registerApiKeyRoutes } from './api-key-routes.js';
