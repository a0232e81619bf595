export * from './schema.ts'
export * from './codec.ts'
