export * from './job-status';
export * from './queues';
export * from './limits';
export * from './http';
export * from './placement';
export * from './tenants';
export * from './diagnosis';
export * from './profile';
