import { deadlineInMs, requestDeadlineKind, startRequestDeadline, withinDeadline } from '../../functions/http/arm/request-deadline';
import { statusOf, toErrorBody } from '../../lib/domain/errors';

const settings = { readInMs: 1_000, writeInMs: 3_000, longOperationInMs: 2_000 };
const after = <T>(ms: number, value: T, fail = false) => new Promise<T>((resolve, reject) => setTimeout(() => (fail ? reject(new Error(String(value))) : resolve(value)), ms));

describe('the kind of a route and its deadline', () => {
  it.each([
    ['GET', { 200: 'ok' }, undefined, 'read', 1_000],
    ['HEAD', { 204: 'ok' }, undefined, 'read', 1_000],
    ['PUT', { 200: 'ok', 201: 'created' }, undefined, 'write', 3_000],
    ['DELETE', { 200: 'ok', 204: 'none' }, undefined, 'write', 3_000],
    ['POST', { 202: 'accepted', 400: 'bad' }, undefined, 'longOperation', 2_000],
    ['PUT', { 200: 'ok', 202: 'accepted' }, undefined, 'longOperation', 2_000],
    ['POST', { 200: 'report' }, 'read', 'read', 1_000],
  ] as const)('%s answering %j (declared %s) is a %s with %i ms', (method, responses, declared, kind, ms) => {
    const found = requestDeadlineKind(method, responses, declared);
    expect(found).toBe(kind);
    expect(deadlineInMs(found as Exclude<typeof found, 'none'>, settings)).toBe(ms);
  });

  it('has none when the route says so', () => {
    expect(requestDeadlineKind('POST', { 200: 'report' }, 'none')).toBe('none');
  });
});

describe('withinDeadline', () => {
  it('answers with the work when it finishes first', async () => {
    const deadline = startRequestDeadline(200, 'read');
    await expect(withinDeadline(after(10, 'done'), deadline, () => undefined)).resolves.toBe('done');
    deadline.clear();
    expect(deadline.passed()).toBe(false);
  });

  it('answers 504 GatewayTimeout when the deadline passes first, saying what became of the work', async () => {
    const read = startRequestDeadline(20, 'read');
    const refusal = await withinDeadline(after(200, 'late'), read, () => undefined).catch((err: unknown) => err);
    expect(statusOf(refusal)).toBe(504);
    expect(toErrorBody(refusal).error).toMatchObject({ code: 'GatewayTimeout', message: expect.stringMatching(/0\.02 s: nothing was changed/) });
    expect(read.passed()).toBe(true);
    const write = startRequestDeadline(20, 'write');
    const writeRefusal = await withinDeadline(after(200, 'late'), write, () => undefined).catch((err: unknown) => err);
    expect(toErrorBody(writeRefusal).error.message).toMatch(/applied entirely or not at all/);
  });

  it('lets the work run on past the deadline and reports a late failure', async () => {
    const deadline = startRequestDeadline(20, 'write');
    const late: unknown[] = [];
    let finished = false;
    const work = after(80, 'boom', true).finally(() => (finished = true));
    await expect(withinDeadline(work, deadline, (err) => late.push(err))).rejects.toMatchObject({ code: 'GatewayTimeout' });
    expect(finished).toBe(false);
    await work.catch(() => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    expect(finished).toBe(true);
    expect(late).toHaveLength(1);
  });

  it('does not report a failure that answered in time as late', async () => {
    const deadline = startRequestDeadline(200, 'write');
    const late: unknown[] = [];
    await expect(withinDeadline(after(5, 'no', true), deadline, (err) => late.push(err))).rejects.toThrow('no');
    deadline.clear();
    expect(late).toEqual([]);
  });

  it('never expires without a deadline', async () => {
    const deadline = startRequestDeadline(undefined, 'none');
    await expect(withinDeadline(after(30, 'slow'), deadline, () => undefined)).resolves.toBe('slow');
    expect(deadline.passed()).toBe(false);
  });
});
