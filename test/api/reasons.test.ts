// Reasons are unions derived from one list per family (src/api/reasons/*.ts): a misspelt reason
// does not compile. `tsc -p tsconfig.json` checks this file; each @ts-expect-error below fails
// the type check the day the line after it compiles (a reason field typed `string` again).
import { describe, expect, it } from 'vitest';
import type { ConditionUpdate } from '../../src/api/conditions.ts';
import {
  type ActivatorReason,
  KafkaError,
  NoRoute,
  type Problem,
  REPORT_REFUSALS,
  type ReadErrorReason,
  type Reason,
  type ReportRefusal,
  ScaledObjectReady,
  ScalerError,
  Unauthenticated,
  Unreachable,
} from '../../src/api/reasons.ts';
import type { EventRecord, PlatformError } from '../../src/platform/ports.ts';
import type { ReadError } from '../../src/scaler.ts';

describe('reasons', () => {
  it('a misspelt reason does not compile in any reason field', () => {
    const condition: ConditionUpdate = {
      type: 'Ready',
      status: 'True',
      // @ts-expect-error: 'ScaledObjectRedy' is no Reason
      reason: 'ScaledObjectRedy',
      message: '',
    };
    // @ts-expect-error: an Event's reason is listed too
    const event: EventRecord = { type: 'Warning', reason: 'ScalerFaild', action: 'Poll', note: '' };
    // @ts-expect-error: a Problem's reason
    const problem: Problem = { path: 'spec', reason: 'InvalidSpecs', message: '' };
    // @ts-expect-error: a trigger read error's reason ('ScalerError' once bypassed reasons.ts)
    const readError: ReadError = { reason: 'ScalerErorr', message: '' };
    // @ts-expect-error: the activator's own answers
    const answer: ActivatorReason = 'NoRoutes';
    // @ts-expect-error: report refusals
    const refusal: ReportRefusal = 'Unauthorized';
    // @ts-expect-error: a platform adapter's failure
    const platform: PlatformError = { reason: 'NotFund', message: '' };
    const foreign: ConditionUpdate = {
      type: 'Ready',
      status: 'False',
      // @ts-expect-error: a plain string is not a reason (the API server's own is never passed on)
      reason: String('Forbidden'),
      message: '',
    };
    expect([condition, event, problem, readError, answer, refusal, platform, foreign]).toHaveLength(8);
  });

  it('the constants are their unions, with their literal types kept in object literals', () => {
    const reasons = { ready: ScaledObjectReady, read: KafkaError, thrown: ScalerError, answer: NoRoute };
    const typed: { ready: Reason; read: ReadErrorReason; thrown: ReadErrorReason; answer: ActivatorReason } =
      reasons;
    expect(typed).toEqual({
      ready: 'ScaledObjectReady',
      read: 'KafkaError',
      thrown: 'ScalerError',
      answer: 'NoRoute',
    });
    const condition: ConditionUpdate = { type: 'Ready', status: 'False', reason: Unreachable, message: '' };
    expect(condition.reason).toBe('Unreachable');
  });

  it('REPORT_REFUSALS lists every refusal once (derived from the family module)', () => {
    expect([...REPORT_REFUSALS].sort()).toEqual(
      [
        'ClockSkew',
        'ForbiddenReporter',
        'InvalidReport',
        'ReportTooLarge',
        'TokenReviewUnavailable',
        'TooManyActivators',
        'Unauthenticated',
        'UnknownRoute',
      ].sort(),
    );
    expect(REPORT_REFUSALS).toContain(Unauthenticated);
  });
});
