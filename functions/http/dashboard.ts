/**
 * The dashboard (web/, built into dist/web by `npm run build`): its pages and assets at
 * `/dashboard/…`, and how to sign in at `/dashboard/config.json`. Anonymous, as any web page: the
 * pages hold no data; everything they show comes from the public ARM API with the caller's token.
 * `GET /` (ArmUnknownRoute) sends browsers here.
 */
import path from 'node:path';
import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { getConfig } from '../../lib/config';
import { contentTypeOf, dashboardContentSecurityPolicy, dashboardRequestOf, DASHBOARD_INDEX_FILE, type DashboardClientConfig } from '../../lib/domain/dashboard-assets';
import { FileWebAssets } from '../../lib/stores/file/web-assets';
import type { WebAssetStore } from '../../lib/stores/web-assets';

/** dist/functions/http → dist/web */
const WEB_ROOT = path.resolve(__dirname, '..', '..', 'web');
let assets: WebAssetStore | undefined;
const store = () => (assets ??= new FileWebAssets(WEB_ROOT));

const NOT_BUILT = 'The dashboard is not built: run `npm run build` (it bundles web/ into dist/web).';

function notFound(): HttpResponseInit {
  return { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'Not found.' };
}

export async function serveDashboard(request: HttpRequest): Promise<HttpResponseInit> {
  const wanted = dashboardRequestOf(request.params.path);
  const signIn = getConfig().dashboard.signIn;
  switch (wanted.kind) {
    case 'config': {
      const body: DashboardClientConfig = { signIn };
      return { status: 200, headers: { 'cache-control': 'no-store' }, jsonBody: body };
    }
    case 'asset': {
      const bytes = await store().read(wanted.file);
      if (bytes === undefined) return notFound();
      const cache = wanted.immutable ? 'public, max-age=31536000, immutable' : 'no-cache';
      return { status: 200, headers: { 'content-type': contentTypeOf(wanted.file), 'cache-control': cache, 'x-content-type-options': 'nosniff' }, body: bytes };
    }
    case 'page': {
      const page = await store().read(DASHBOARD_INDEX_FILE);
      if (page === undefined) return { status: 503, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: NOT_BUILT };
      return {
        status: 200,
        headers: {
          'content-type': contentTypeOf(DASHBOARD_INDEX_FILE),
          'cache-control': 'no-cache',
          'content-security-policy': dashboardContentSecurityPolicy(signIn),
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
        },
        body: page,
      };
    }
    case 'notFound':
      return notFound();
  }
}

app.http('Dashboard', { route: 'dashboard/{*path}', methods: ['GET'], authLevel: 'anonymous', handler: serveDashboard });
