/**
 * Error answers in the shape of the service a request was meant for, so its SDK parses them as it parses
 * the real ones: Blob Storage XML (`<Error><Code>`), Table Storage OData JSON (`odata.error`), and ARM /
 * Key Vault JSON (`{"error":{"code","message"}}`).
 */
import { requests, type ProxiedRequest } from './faults';

export function errorBody(request: ProxiedRequest, code: string, message: string): { contentType: string; text: string } {
  if (requests.table(request)) {
    return {
      contentType: 'application/json;odata=minimalmetadata;streaming=true;charset=utf-8',
      text: JSON.stringify({ 'odata.error': { code, message: { lang: 'en-US', value: message } } }),
    };
  }
  if (request.headers['x-ms-version'] !== undefined && !/json/i.test(String(request.headers.accept ?? ''))) {
    return {
      contentType: 'application/xml',
      text: `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`,
    };
  }
  return { contentType: 'application/json; charset=utf-8', text: JSON.stringify({ error: { code, message } }) };
}
