import {
  buildRouter,
  compareRoutePrecedence,
  compileRoute,
  DEFAULT_HTTP_METHODS,
  defaultRoute,
  RouteTemplateError,
} from '../../emulator/http-routes';

describe('compileRoute: matching', () => {
  const cases: [template: string, path: string, params: Record<string, string> | undefined][] = [
    // literals, case-insensitive, slashes
    ['hello', '/hello', {}],
    ['hello', 'HELLO', {}],
    ['hello', '/hello/', {}],
    ['hello', '/hello/x', undefined],
    ['hello', '/hell', undefined],
    ['Vaults/List', '/vaults/list', {}],
    ['', '/', {}],
    ['', '/x', undefined],
    // parameters
    ['vaults/{name}', '/vaults/v1', { name: 'v1' }],
    ['vaults/{name}', '/vaults', undefined],
    ['vaults/{name}', '/vaults//', undefined],
    ['vaults/{name}/items/{item}', '/VAULTS/v1/Items/i-2', { name: 'v1', item: 'i-2' }],
    ['vaults/{name}', '/vaults/my%20vault', { name: 'my vault' }],
    ['vaults/{name}', '/vaults/a%2Fb', { name: 'a/b' }],
    ['vaults/{name}', '/vaults/caf%C3%A9', { name: 'café' }],
    ['vaults/{name}', '/vaults/100%', { name: '100%' }], // malformed escape: kept as sent
    ['vaults/{name}', '/vaults/v1?x=1', { name: 'v1' }],
    // optional and default values
    ['items/{id?}', '/items', {}],
    ['items/{id?}', '/items/7', { id: '7' }],
    ['items/{id:int?}', '/items', {}],
    ['items/{id:int?}', '/items/7', { id: '7' }],
    ['items/{id:int?}', '/items/x', undefined],
    ['items/{page=1}', '/items', { page: '1' }],
    ['items/{page=1}', '/items/3', { page: '3' }],
    ['items/{kind=all}/{page:int=1}', '/items', { kind: 'all', page: '1' }],
    ['items/{kind=all}/{page:int=1}', '/items/new', { kind: 'new', page: '1' }],
    ['items/{a?}/end', '/items/x/end', { a: 'x' }],
    ['items/{a?}/end', '/items/end', undefined], // an optional segment can only be left out at the end
    // catch-all
    ['files/{*path}', '/files/a/b/c.txt', { path: 'a/b/c.txt' }],
    ['files/{*path}', '/files/a%20b/c', { path: 'a b/c' }],
    ['files/{*path}', '/files', {}],
    ['files/{*path}', '/files/', {}],
    ['files/{**path}', '/files/x/y', { path: 'x/y' }],
    ['files/{*path=index.html}', '/files', { path: 'index.html' }],
    ['files/{*path:minlength(3)}', '/files/ab', undefined],
    ['files/{*path:minlength(3)}', '/files/a/b', { path: 'a/b' }],
    ['{*all}', '/anything/at/all', { all: 'anything/at/all' }],
    // complex segments
    ['files/{name}.{ext}', '/files/report.pdf', { name: 'report', ext: 'pdf' }],
    ['files/{name}.{ext}', '/files/my.report.pdf', { name: 'my.report', ext: 'pdf' }],
    ['files/{name}.{ext}', '/files/report', undefined],
    ['files/{name}.{ext?}', '/files/report', { name: 'report' }],
    ['files/{name}.{ext?}', '/files/report.txt', { name: 'report', ext: 'txt' }],
    ['jobs/job-{id:int}', '/jobs/JOB-42', { id: '42' }],
    ['jobs/job-{id:int}', '/jobs/job-x', undefined],
    ['{a}-{b}-{c}', '/1-2-3-4', { a: '1-2', b: '3', c: '4' }],
    // escaped braces
    ['lit/{{x}}', '/lit/{x}', {}],
  ];
  it.each(cases)('%s ~ %s', (template, path, params) => {
    expect(compileRoute(template).match(path)).toEqual(params);
  });
});

describe('compileRoute: constraints', () => {
  const cases: [constraint: string, accepted: string[], rejected: string[]][] = [
    ['int', ['0', '42', '-7', '2147483647', '-2147483648'], ['2147483648', '1.5', 'x', '0x1', '']],
    ['long', ['9223372036854775807', '-9223372036854775808'], ['9223372036854775808', '1e3']],
    ['bool', ['true', 'False', 'TRUE'], ['yes', '1', 'truex']],
    [
      'guid',
      ['1b4e28ba-2fa1-11d2-883f-0016d3cca427', '1B4E28BA2FA111D2883F0016D3CCA427', '{1b4e28ba-2fa1-11d2-883f-0016d3cca427}', '(1b4e28ba-2fa1-11d2-883f-0016d3cca427)'],
      ['1b4e28ba-2fa1-11d2-883f', 'zb4e28ba-2fa1-11d2-883f-0016d3cca427'],
    ],
    ['double', ['1.5', '-2', '1e10', '.5', '1,000.25', 'NaN', 'Infinity'], ['abc', '1.2.3', '--1']],
    ['decimal', ['1.5', '-2', '1,000'], ['1e5', 'x']],
    ['alpha', ['abc', 'ABCdef'], ['abc1', 'a-b', 'é']],
    ['minlength(3)', ['abc', 'abcd'], ['ab']],
    ['maxlength(3)', ['a', 'abc'], ['abcd']],
    ['length(3)', ['abc'], ['ab', 'abcd']],
    ['length(2,4)', ['ab', 'abcd'], ['a', 'abcde']],
    ['min(10)', ['10', '11'], ['9', 'x']],
    ['max(10)', ['10', '-5'], ['11']],
    ['range(1,3)', ['1', '3'], ['0', '4']],
    ['regex(^\\d{{3}}-\\d{{2}}$)', ['123-45'], ['12-345', '123-456']],
    ['regex(^[a-z]+$)', ['abc', 'ABC'], ['ab1']], // case-insensitive like ASP.NET
    ['regex(b)', ['abc'], ['xyz']], // unanchored like ASP.NET
    ['datetime', ['2024-01-31', '2024-01-31T10:00:00Z'], ['yesterday']],
    ['int:min(5)', ['5', '6'], ['4', 'x']],
  ];
  it.each(cases)('{x:%s}', (constraint, accepted, rejected) => {
    const route = compileRoute(`v/{x:${constraint}}`);
    for (const value of accepted) expect([value, route.match(`/v/${encodeURIComponent(value)}`)]).toEqual([value, { x: value }]);
    for (const value of rejected) expect([value, route.match(`/v/${encodeURIComponent(value)}`)]).toEqual([value, undefined]);
  });

  it('checks constraints on the decoded value', () => {
    expect(compileRoute('v/{x:alpha}').match('/v/%61bc')).toEqual({ x: 'abc' });
  });
});

describe('compileRoute: invalid templates', () => {
  const cases: [template: string, reason: RegExp][] = [
    ['a/{b', /unterminated parameter/],
    ['a/b}', /unmatched '}'/],
    ['a/{}', /needs a name/],
    ['a/{b}/{B}', /'B' appears more than once/],
    ['a/{b:unknown}', /unknown constraint 'unknown'/],
    ['a/{b:minlength}', /needs an argument/],
    ['a/{b:minlength(x)}', /integer argument/],
    ['a/{b:length(1,2,3)}', /1 or 2 argument/],
    ['a/{b:int(3)}', /takes no argument/],
    ['a/{b:regex([)}', /regex '\[' is not valid/],
    ['a/{*rest}/b', /must be the last segment/],
    ['a/{*rest?}', /cannot be optional/],
    ['a/x{*rest}', /must be a whole segment/],
    ['a/{b}{c}', /two consecutive parameters/],
    ['a/{b?}.{c}', /optional parameter 'b' inside a segment/],
    ['a//b', /empty segment/],
    ['a/b?', /'\?' is only allowed inside a parameter/],
    ['a/{b=x?}', /optional parameter 'b' cannot have a default/],
    ['a/{b:int)}', /unexpected '\)'/],
  ];
  it.each(cases)('%s', (template, reason) => {
    let error: unknown;
    try {
      compileRoute(template);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RouteTemplateError);
    expect((error as RouteTemplateError).code).toBe('InvalidRouteTemplate');
    expect((error as Error).message).toContain(`'${template}'`);
    expect((error as Error).message).toMatch(reason);
  });
});

describe('compileRoute: shape and precedence', () => {
  it('lists parameter names and strips leading/trailing slashes from the template', () => {
    const route = compileRoute('/vaults/{vault}/items/{item?}/');
    expect(route.parameterNames).toEqual(['vault', 'item']);
    expect(route.match('vaults/v/items')).toEqual({ vault: 'v' });
  });

  it('orders literal > constrained parameter > parameter > optional > catch-all', () => {
    const templates = ['items/{*rest}', 'items/{id?}', 'items/{id}', 'items/{id:int}', 'items/new', 'items/{*rest:minlength(2)}'];
    const sorted = [...templates].sort((a, b) => compareRoutePrecedence(compileRoute(a).precedence, compileRoute(b).precedence));
    expect(sorted).toEqual(['items/new', 'items/{id:int}', 'items/{id}', 'items/{id?}', 'items/{*rest:minlength(2)}', 'items/{*rest}']);
  });

  it('ranks a complex segment with constrained parameters and a shorter route before a longer one', () => {
    const rank = (t: string): readonly number[] => compileRoute(t).precedence;
    expect(compareRoutePrecedence(rank('f/{n}.{e}'), rank('f/{n}'))).toBeLessThan(0);
    expect(compareRoutePrecedence(rank('items'), rank('items/{id?}'))).toBeLessThan(0);
    expect(compareRoutePrecedence(rank('a/{x}'), rank('a/{y}'))).toBe(0);
  });

  it('uses the function name as the default route', () => {
    expect(defaultRoute('GetVaults')).toBe('GetVaults');
  });
});

describe('buildRouter', () => {
  const router = buildRouter(
    [
      { route: 'items/{*rest}', methods: ['GET'], key: 'catchAll' },
      { route: 'items/{id}', methods: ['get', 'Delete'], key: 'byId' },
      { route: 'items/{id:int}', methods: ['GET'], key: 'byNumber' },
      { route: 'items/new', methods: ['GET'], key: 'new' },
      { route: 'items', methods: ['POST'], key: 'create' },
      { route: 'items', methods: ['GET'], key: 'list' },
      { route: 'hello', methods: undefined, key: 'hello' },
      { route: 'anything', methods: [], key: 'anything' },
    ],
    { routePrefix: 'api' },
  );

  it('picks the most specific matching route whatever the registration order', () => {
    expect(router.find('GET', '/api/items/new')).toEqual({ key: 'new', params: {} });
    expect(router.find('GET', '/api/items/42')).toEqual({ key: 'byNumber', params: { id: '42' } });
    expect(router.find('GET', '/api/items/abc')).toEqual({ key: 'byId', params: { id: 'abc' } });
    expect(router.find('GET', '/api/items/a/b')).toEqual({ key: 'catchAll', params: { rest: 'a/b' } });
  });

  it('falls through to a less specific route that allows the method', () => {
    expect(router.find('DELETE', '/api/items/42')).toEqual({ key: 'byId', params: { id: '42' } });
  });

  it('chooses between routes with the same template by method, case-insensitively', () => {
    expect(router.find('post', '/api/items')).toEqual({ key: 'create', params: {} });
    expect(router.find('get', '/API/ITEMS')).toEqual({ key: 'list', params: {} });
  });

  it('reports methodNotAllowed with the allowed methods when only the method is wrong', () => {
    expect(router.find('PUT', '/api/items/new')).toEqual({ methodNotAllowed: true, allowedMethods: ['DELETE', 'GET'] });
    expect(router.find('HEAD', '/api/items')).toEqual({ methodNotAllowed: true, allowedMethods: ['GET', 'POST'] });
  });

  it('defaults to GET and POST when methods are not given (the v4 library default)', () => {
    expect(DEFAULT_HTTP_METHODS).toEqual(['GET', 'POST']);
    expect(router.find('GET', '/api/hello')).toEqual({ key: 'hello', params: {} });
    expect(router.find('POST', '/api/hello')).toEqual({ key: 'hello', params: {} });
    expect(router.find('PUT', '/api/hello')).toEqual({ methodNotAllowed: true, allowedMethods: ['GET', 'POST'] });
  });

  it('allows every method for an empty method list (as the host treats methods: [])', () => {
    expect(router.find('PATCH', '/api/anything')).toEqual({ key: 'anything', params: {} });
  });

  it('returns undefined when no route matches the path', () => {
    expect(router.find('GET', '/api/nothing')).toBeUndefined();
    expect(router.find('GET', '/items/new')).toBeUndefined(); // prefix required
  });

  it('lists routes in match order with the prefixed template', () => {
    expect(router.routes.map((r) => r.template).filter((t) => t.startsWith('api/items/'))).toEqual(['api/items/new', 'api/items/{id:int}', 'api/items/{id}', 'api/items/{*rest}']);
    expect(router.routes.map((r) => r.template).indexOf('api/items')).toBeLessThan(router.routes.map((r) => r.template).indexOf('api/items/new'));
    expect(router.routes.find((r) => r.key === 'anything')?.methods).toBe('any');
    expect(router.routes.find((r) => r.key === 'byId')?.methods).toEqual(['GET', 'DELETE']);
  });

  it('works without a prefix and with an empty route under a prefix', () => {
    const plain = buildRouter([{ route: 'x', methods: ['GET'], key: 1 }]);
    expect(plain.find('GET', '/x')).toEqual({ key: 1, params: {} });
    const root = buildRouter([{ route: '', methods: ['GET'], key: 2 }], { routePrefix: '/api/' });
    expect(root.find('GET', '/api')).toEqual({ key: 2, params: {} });
  });

  it('rejects an invalid template when building', () => {
    expect(() => buildRouter([{ route: 'a/{b', methods: undefined, key: 0 }])).toThrow(RouteTemplateError);
  });
});
