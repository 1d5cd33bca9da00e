import type { DefenseName, Decision } from './state.js';

/** The game's numbers, in one place. Money in credits, odds in basis points (1/10,000). */

export const START_TRUST = 50;
export const MAX_TRUST = 100;

export const MAX_DEFENSE_LEVEL = 3;
/** The price of the next level, by the level owned now (0 → 1 costs 200, ...). */
export const DEFENSE_COSTS: readonly number[] = [200, 400, 800];
export const DEFENSE_NAMES: readonly DefenseName[] = ['firewall', 'mfa', 'training'];

export const BREACH_BASE_BP = 6000;
export const BREACH_FLOOR_BP = 500;
/** How much each level of a defense lowers the breach odds. */
export const BREACH_REDUCTION_BP: Readonly<Record<DefenseName, number>> = {
  firewall: 1000,
  mfa: 1000,
  training: 500,
};
export const BREACH_CREDIT_LOSS = 300;
export const BREACH_TRUST_LOSS = 10;

/** What a settled request is worth at the end of the day, by decision and truth. */
export type Outcome = { score: number; trust: number; paysValue: boolean; correct: boolean };

export const LEGIT_OUTCOMES: Readonly<Record<Decision, Outcome>> = {
  approve: { score: 10, trust: 2, paysValue: true, correct: true },
  deny: { score: 0, trust: -2, paysValue: false, correct: false },
  flag: { score: 0, trust: -4, paysValue: false, correct: false },
};

/** An approved malicious request is a mistake whether or not it breaches. */
export const MALICIOUS_OUTCOMES: Readonly<Record<Decision, Outcome>> = {
  approve: { score: 0, trust: 0, paysValue: false, correct: false },
  deny: { score: 10, trust: 1, paysValue: false, correct: true },
  flag: { score: 15, trust: 2, paysValue: false, correct: true },
};

export const IGNORED_TRUST_LOSS = 1;
export const DAY_COMPLETED_SCORE = 5;

/** Request value: a multiple of 10 credits in [50, 300], for legit and malicious alike. */
export const VALUE_MIN_TENS = 5;
export const VALUE_MAX_TENS = 30;
export const INDICATORS_MIN = 2;
export const INDICATORS_MAX = 4;
/** The chance that one indicator slot holds a red flag. */
export const RED_FLAG_BP_MALICIOUS = 7000;
export const RED_FLAG_BP_LEGIT = 2000;

export const REQUESTERS: readonly string[] = [
  'Avery Chen',
  'Bram Okafor',
  'Chidi Mensah',
  'Dana Kowalski',
  'Elif Yilmaz',
  'Farah Haddad',
  'Gus Lindqvist',
  'Hana Sato',
  'Ines Duarte',
  'Jonah Weiss',
];

export const CLAIMED_ROLES: readonly string[] = [
  'archivist',
  'researcher',
  'contractor',
  'auditor',
  'it_support',
  'journalist',
  'student',
  'executive',
];

export const RED_FLAGS: readonly string[] = [
  'mismatched_domain',
  'urgent_tone',
  'unusual_hour',
  'unverified_callback',
  'macro_attachment',
  'role_mismatch',
  'spoofed_sender',
  'expired_badge',
];

export const GREEN_FLAGS: readonly string[] = [
  'known_device',
  'verified_callback',
  'ticket_reference',
  'manager_approval',
  'signed_request',
  'usual_hours',
  'valid_badge',
  'matching_domain',
];
