export { registerConsumerRoutes } from './consumer-routes.js';
