export type { DemoDivergence } from './check-demo-session.js';
export { demoRules, planDemoSession } from './demo-plan.js';
export type { DemoBatch, DemoSessionPlan } from './demo-plan.js';
export type { DemoNightly, DemoSummary } from './demo-summary.js';
export { maxDemoSessions, runDemo } from './run-demo.js';
export type { DemoOptions, DemoRedis, DemoStage } from './run-demo.js';
