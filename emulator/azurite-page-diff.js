'use strict';
/**
 * Azurite extension: a real Get Page Ranges diff, against a snapshot named by its time
 * (`GET …?comp=pagelist&prevsnapshot=<time>`) or by its URL (`x-ms-previous-snapshot-url: <url>`, what
 * `PageBlobClient.getPageRangesDiffForManagedDisks` sends).
 *
 * Preload it into the Azurite process: `node --require <abs path of this file> …/azurite/dist/src/azurite.js`
 * (emulator/azurite.ts: `startAzurite({ extensions: [path] })`).
 *
 * Why: Azurite 3.35.0 dispatches a diff request to `PageBlobHandler.getPageRanges` (`prevsnapshot` is an
 * optional query parameter, so the plain Get Page Ranges spec wins the dispatch) and silently answers
 * with the target's full range list (Azurite issue #812). The same happens to the managed-disk header
 * `x-ms-previous-snapshot-url`, which no Azurite code reads.
 *
 * What: when Azurite loads `dist/src/blob/handlers/PageBlobHandler.js`, `PageBlobHandler.prototype.getPageRanges`
 * is wrapped. Requests without `prevsnapshot` and the header go to Azurite unchanged. The others get a diff
 * computed from both blobs' page-range metadata (`pageRangesInOrder`): every Put Page stores its payload
 * in a fresh extent chunk, so a byte whose `(extent id, offset)` is the same in both blobs was not
 * written since the previous snapshot.
 *  - PageRange: allocated in the target and either unallocated in prev or stored elsewhere (written since);
 *  - ClearRange: allocated in prev, unallocated in the target.
 * Errors as Azure: PreviousSnapshotNotFound (409), PreviousSnapshotCannotBeNewer (400),
 * BlobOverwritten (409, the blob was recreated after prev was taken).
 *
 * `x-ms-previous-snapshot-url`: an absolute URL of a snapshot (`…/container/blob?snapshot=<time>`, a SAS
 * in the query is allowed and not used: the request's own authorization covers the diff) of the same blob
 * in the same account, path-style or production-style as Azurite reads request URLs. A URL that does not
 * parse, or names no blob, is 400 InvalidHeaderValue; another account or blob (another disk's lineage), or
 * a URL naming the base blob rather than a snapshot, is 409 PreviousSnapshotOperationNotSupported; both
 * `prevsnapshot` and the header is 400 InvalidHeaderValue.
 *
 * Not supported: `marker`/`maxresults` paging (all ranges come in one response without NextMarker, as
 * Azurite's own Get Page Ranges does).
 *
 * Any other Azurite version: nothing is patched, a warning is logged.
 */
const { URL } = require('url');
const { whenAzuriteLoads, warn } = require('./azurite-module-hook');

const PATCHED = Symbol.for('kluis.azurite-page-diff.patched');

// ---------------------------------------------------------------------------------------------
// Pure diff over Azurite page ranges: sorted, non-overlapping `{start, end (inclusive), persistency}`.

/**
 * @typedef {{ id: string, offset: number, count: number }} Persistency
 * @typedef {{ start: number, end: number, persistency: Persistency }} PersistencyPageRange
 * @typedef {{ start: number, end: number }} InclusiveRange
 */

/**
 * Compares two page-range lists byte by byte, by where the bytes are stored.
 * @param {PersistencyPageRange[]} target
 * @param {PersistencyPageRange[]} previous
 * @returns {{ pageRange: InclusiveRange[], clearRange: InclusiveRange[] }} merged, inclusive ends
 */
function diffPageRanges(target, previous) {
  const pageRange = [];
  const clearRange = [];
  const cuts = [...new Set([...target, ...previous].flatMap((r) => [r.start, r.end + 1]))].sort((a, b) => a - b);
  let t = 0;
  let p = 0;
  for (let k = 0; k + 1 < cuts.length; k += 1) {
    const from = cuts[k];
    const to = cuts[k + 1] - 1;
    while (t < target.length && target[t].end < from) t += 1;
    while (p < previous.length && previous[p].end < from) p += 1;
    const inTarget = t < target.length && target[t].start <= from ? target[t] : undefined;
    const inPrevious = p < previous.length && previous[p].start <= from ? previous[p] : undefined;
    if (inTarget !== undefined && (inPrevious === undefined || !storedAtSamePlace(inTarget, inPrevious, from))) {
      appendMerged(pageRange, from, to);
    } else if (inTarget === undefined && inPrevious !== undefined) {
      appendMerged(clearRange, from, to);
    }
  }
  return { pageRange, clearRange };
}

/** True when byte `position` of both ranges comes from the same byte of the same extent. */
function storedAtSamePlace(a, b, position) {
  return (
    a.persistency.id === b.persistency.id &&
    a.persistency.offset + (position - a.start) === b.persistency.offset + (position - b.start)
  );
}

function appendMerged(ranges, start, end) {
  const last = ranges[ranges.length - 1];
  if (last !== undefined && last.end + 1 === start) last.end = end;
  else ranges.push({ start, end });
}

/**
 * Orders Azure snapshot times (`2024-05-01T10:00:00.1234567Z`) at full 100 ns precision.
 * @returns {number | undefined} <0, 0, >0; undefined when either is not a snapshot time
 */
function compareSnapshotTimes(a, b) {
  const ta = parseSnapshotTime(a);
  const tb = parseSnapshotTime(b);
  if (ta === undefined || tb === undefined) return undefined;
  return ta.ms - tb.ms || ta.ticks - tb.ticks;
}

function parseSnapshotTime(value) {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,7}))?Z$/.exec(value);
  if (match === null) return undefined;
  const ms = Date.parse(`${match[1]}Z`);
  return Number.isNaN(ms) ? undefined : { ms, ticks: Number((match[2] || '').padEnd(7, '0')) };
}

// ---------------------------------------------------------------------------------------------
// The handler method that replaces PageBlobHandler.prototype.getPageRanges.

/**
 * @param {Function} originalGetPageRanges Azurite's PageBlobHandler.prototype.getPageRanges
 * @param {ReturnType<typeof loadAzuriteInternals>} azurite
 */
function createGetPageRanges(originalGetPageRanges, azurite) {
  return async function getPageRanges(options, context) {
    const prevSnapshot = context.request.getQuery('prevsnapshot');
    const prevSnapshotUrl = context.request.getHeader(PREVIOUS_SNAPSHOT_URL_HEADER);
    const byTime = prevSnapshot !== undefined && prevSnapshot !== '';
    const byUrl = prevSnapshotUrl !== undefined && prevSnapshotUrl !== '';
    if (!byTime && !byUrl) return originalGetPageRanges.call(this, options, context);
    const blobCtx = new azurite.BlobStorageContext(context);
    if (byTime && byUrl) {
      throw azurite.StorageErrorFactory.getInvalidHeaderValue(blobCtx.contextId, {
        HeaderName: PREVIOUS_SNAPSHOT_URL_HEADER,
        HeaderValue: prevSnapshotUrl,
        Reason: 'prevsnapshot and x-ms-previous-snapshot-url cannot both be given.',
      });
    }
    const previous = byTime ? prevSnapshot : previousSnapshotFromUrl(prevSnapshotUrl, blobCtx, azurite);
    return getPageRangesDiff(this, azurite, options, context, previous);
  };
}

const PREVIOUS_SNAPSHOT_URL_HEADER = 'x-ms-previous-snapshot-url';

/**
 * The snapshot time named by an `x-ms-previous-snapshot-url`, after checking that it is a snapshot of
 * the request's own blob in the request's own account.
 */
function previousSnapshotFromUrl(value, blobCtx, azurite) {
  const requestId = blobCtx.contextId;
  const invalid = (reason) =>
    azurite.StorageErrorFactory.getInvalidHeaderValue(requestId, {
      HeaderName: PREVIOUS_SNAPSHOT_URL_HEADER,
      HeaderValue: value,
      Reason: reason,
    });
  let url;
  try {
    url = new URL(value);
  } catch {
    throw invalid('The value is not an absolute URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('The URL must use http or https.');
  let parts;
  try {
    parts = azurite.extractStoragePartsFromPath(url.hostname, url.pathname, blobCtx.disableProductStyleUrl);
  } catch {
    throw invalid('The URL path is not valid percent-encoding.');
  }
  const [account, container, blob] = parts;
  if (!account || !container || !blob) throw invalid('The URL names no blob (/account/container/blob).');
  const notSupported = (why) =>
    new azurite.StorageError(
      409,
      'PreviousSnapshotOperationNotSupported',
      `Differential Get Page Ranges is not supported on the previous snapshot: ${why}`,
      requestId,
    );
  if (account !== blobCtx.account) throw notSupported('it is in another storage account.');
  if (container !== blobCtx.container || blob !== blobCtx.blob) throw notSupported('it is a snapshot of another blob.');
  const snapshot = url.searchParams.get('snapshot');
  if (snapshot === null || snapshot === '') throw notSupported('the URL names the base blob, not a snapshot.');
  return snapshot;
}

async function getPageRangesDiff(handler, azurite, options, context, prevSnapshot) {
  const blobCtx = new azurite.BlobStorageContext(context);
  const requestId = blobCtx.contextId;
  const snapshot = options.snapshot || '';

  const target = await handler.metadataStore.getPageRanges(
    context,
    blobCtx.account,
    blobCtx.container,
    blobCtx.blob,
    snapshot,
    options.leaseAccessConditions,
    options.modifiedAccessConditions,
  );
  assertPageBlob(target, azurite, requestId);
  const contentLength = target.properties.contentLength;
  const window = requestedWindow(blobCtx, contentLength, azurite, requestId);

  if (snapshot !== '' && compareSnapshotTimes(prevSnapshot, snapshot) > 0) {
    throw new azurite.StorageError(
      400,
      'PreviousSnapshotCannotBeNewer',
      'The prevsnapshot query parameter value cannot be newer than snapshot query parameter value.',
      requestId,
    );
  }
  const previous = await loadPreviousSnapshot(handler, azurite, context, blobCtx, prevSnapshot);
  assertPageBlob(previous, azurite, requestId);
  if (!sameInstant(target.properties.creationTime, previous.properties.creationTime)) {
    throw new azurite.StorageError(
      409,
      'BlobOverwritten',
      'The blob has been recreated since the previous snapshot was taken.',
      requestId,
    );
  }

  const diff = diffPageRanges(
    handler.rangesManager.cutRanges(target.pageRangesInOrder || [], window),
    handler.rangesManager.cutRanges(previous.pageRangesInOrder || [], window),
  );
  return {
    statusCode: 200,
    pageRange: diff.pageRange,
    clearRange: diff.clearRange,
    eTag: target.properties.etag,
    blobContentLength: contentLength,
    lastModified: target.properties.lastModified,
    requestId,
    version: azurite.BLOB_API_VERSION,
    clientRequestId: options.requestId,
    date: blobCtx.startTime,
  };
}

/** Inclusive `{start, end}` from the Range / x-ms-range header, clamped to the blob as Azurite does. */
function requestedWindow(blobCtx, contentLength, azurite, requestId) {
  let bounds;
  try {
    bounds = azurite.deserializePageBlobRangeHeader(
      blobCtx.request.getHeader('range'),
      blobCtx.request.getHeader('x-ms-range'),
      false,
    );
  } catch {
    throw azurite.StorageErrorFactory.getInvalidPageRange(requestId);
  }
  if (bounds[0] >= contentLength) throw azurite.StorageErrorFactory.getInvalidPageRange(requestId);
  return { start: bounds[0], end: Math.min(bounds[1], contentLength - 1) };
}

async function loadPreviousSnapshot(handler, azurite, context, blobCtx, prevSnapshot) {
  try {
    const { account, container, blob } = blobCtx;
    return await handler.metadataStore.getPageRanges(context, account, container, blob, prevSnapshot);
  } catch (error) {
    if (error && error.storageErrorCode === 'BlobNotFound') {
      const message = 'The previous snapshot is not found.';
      throw new azurite.StorageError(409, 'PreviousSnapshotNotFound', message, blobCtx.contextId);
    }
    throw error;
  }
}

function assertPageBlob(blob, azurite, requestId) {
  if (blob.properties.blobType !== azurite.PageBlobType) {
    throw azurite.StorageErrorFactory.getBlobInvalidBlobType(requestId);
  }
}

/** Creation times may be Date objects or, after a reload from disk, strings. */
function sameInstant(a, b) {
  if (a === undefined || b === undefined) return true;
  return new Date(a).getTime() === new Date(b).getTime();
}

// ---------------------------------------------------------------------------------------------
// Patching Azurite.

/** Azurite modules the diff handler needs, loaded from the same installation as the handler. */
function loadAzuriteInternals(requireFromHandler) {
  return {
    BlobStorageContext: requireFromHandler('../context/BlobStorageContext').default,
    StorageError: requireFromHandler('../errors/StorageError').default,
    StorageErrorFactory: requireFromHandler('../errors/StorageErrorFactory').default,
    PageBlobType: requireFromHandler('../generated/artifacts/models').BlobType.PageBlob,
    deserializePageBlobRangeHeader: requireFromHandler('../utils/utils').deserializePageBlobRangeHeader,
    BLOB_API_VERSION: requireFromHandler('../utils/constants').BLOB_API_VERSION,
    extractStoragePartsFromPath: requireFromHandler('../middlewares/blobStorageContext.middleware').extractStoragePartsFromPath,
  };
}

/** Patches the loaded PageBlobHandler module once (BlobRequestListenerFactory and BlobBatchHandler share it). */
function patchPageBlobHandler(handlerModule, handlerFilename, requireFromHandler) {
  const PageBlobHandler = handlerModule && handlerModule.default;
  if (typeof PageBlobHandler !== 'function' || PageBlobHandler.prototype[PATCHED]) return;
  const original = PageBlobHandler.prototype.getPageRanges;
  if (typeof original !== 'function') {
    warn('PageBlobHandler.prototype.getPageRanges not found; page-range diff extension not active');
    return;
  }
  PageBlobHandler.prototype.getPageRanges = createGetPageRanges(original, loadAzuriteInternals(requireFromHandler));
  PageBlobHandler.prototype[PATCHED] = true;
  process.stderr.write('kluis: azurite page-range diff extension active\n');
}

whenAzuriteLoads('dist/src/blob/handlers/PageBlobHandler.js', patchPageBlobHandler, { name: 'page-range diff' });
