/**
 * GET /metadata/endpoints?api-version=2015-01-01 — ARM's cloud metadata, anonymous as in Azure. The
 * Azure CLI reads it when a cloud is registered with only its resource-manager endpoint
 * (`az cloud register -n Kluis --endpoint-resource-manager https://127.0.0.1:7443/`): the login
 * endpoint (KLUIS_AUTH_AUTHORITY; locally the identity endpoint's AD FS authority, whose `/adfs` tells
 * MSAL to skip instance discovery) and the audiences tokens are accepted for.
 */
import { app } from '@azure/functions';
import { getConfig } from '../../../lib/config';
import { errorResponse } from '../jobs';

export function cloudMetadata(authority: string, audiences: readonly string[]): Record<string, unknown> {
  const adfs = /\/adfs\/?$/i.test(authority);
  return {
    galleryEndpoint: 'https://gallery.azure.com/',
    graphEndpoint: 'https://graph.windows.net/',
    graphAudience: 'https://graph.windows.net/',
    portalEndpoint: 'https://portal.azure.com/',
    authentication: {
      loginEndpoint: adfs ? authority.replace(/\/+$/, '') : authority,
      audiences: [...audiences],
      tenant: adfs ? 'adfs' : 'common',
      identityProvider: adfs ? 'ADFS' : 'AAD',
    },
  };
}

app.http('ArmMetadata_Endpoints', {
  route: 'metadata/endpoints',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: async (_request, context) => {
    try {
      const { authority, audiences } = getConfig().auth;
      return { status: 200, jsonBody: cloudMetadata(authority, audiences) };
    } catch (err) {
      return errorResponse(err, context);
    }
  },
});
