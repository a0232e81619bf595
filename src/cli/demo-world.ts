/**
 * The two-province world of the demo (./demo.ts), which the state-machine tests
 * (test/state/world.ts) build too: province A (Hubei, 420000) and province B (Guangdong,
 * 440000), each with civil-affairs and finance offices at province, city and county level
 * and a civil-affairs township office, each registered by the office (or ministry key:
 * mca, mof) above it.
 */
import type { Department, Level } from '../../state/schema.ts'

export const A = { province: '420000', city: '420100', county: '420102', town: '420102001' }
export const B = { province: '440000', city: '440100', county: '440103', town: '440103001' }

/** An office to register: `name` is also its key's name, `signer` the key that registers it. */
export interface OfficePlan { name: string, signer: string, id: number, level: Level, department: Department, region: string }

/** Office ids 10.. for A, 20.. for B, parents before children. */
export const DEMO_OFFICES: readonly OfficePlan[] = [
  { name: 'a-ca', signer: 'mca', id: 10, level: 'province', department: 'civil-affairs', region: A.province },
  { name: 'a-fin', signer: 'mof', id: 11, level: 'province', department: 'finance', region: A.province },
  { name: 'a-city-ca', signer: 'a-ca', id: 12, level: 'city', department: 'civil-affairs', region: A.city },
  { name: 'a-city-fin', signer: 'a-fin', id: 13, level: 'city', department: 'finance', region: A.city },
  { name: 'a-county-ca', signer: 'a-city-ca', id: 14, level: 'county', department: 'civil-affairs', region: A.county },
  { name: 'a-county-fin', signer: 'a-city-fin', id: 15, level: 'county', department: 'finance', region: A.county },
  { name: 'a-town', signer: 'a-county-ca', id: 16, level: 'township', department: 'civil-affairs', region: A.town },
  { name: 'b-ca', signer: 'mca', id: 20, level: 'province', department: 'civil-affairs', region: B.province },
  { name: 'b-fin', signer: 'mof', id: 21, level: 'province', department: 'finance', region: B.province },
  { name: 'b-city-ca', signer: 'b-ca', id: 22, level: 'city', department: 'civil-affairs', region: B.city },
  { name: 'b-city-fin', signer: 'b-fin', id: 23, level: 'city', department: 'finance', region: B.city },
  { name: 'b-county-ca', signer: 'b-city-ca', id: 24, level: 'county', department: 'civil-affairs', region: B.county },
  { name: 'b-county-fin', signer: 'b-city-fin', id: 25, level: 'county', department: 'finance', region: B.county },
  { name: 'b-town', signer: 'b-county-ca', id: 26, level: 'township', department: 'civil-affairs', region: B.town },
]
