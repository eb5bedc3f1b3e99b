'use strict';
/**
 * Azurite extension: server-side copies that are point-in-time and write-isolated, as in Azure.
 *
 * Preload it into the Azurite process like `azurite-page-diff.js` (`startAzurite({ extensions: [...] })`).
 *
 * Why: Azurite 3.35.0's Copy Blob (`startCopyFromURL`, `copyFromURL`) inserts the destination blob's
 * document with the *same* `pageRangesInOrder` / `committedBlocksInOrder` arrays as its source. Put Page
 * and Clear Pages splice those arrays in place, so writing the source after a copy changes the copy, and
 * writing a copy of a snapshot changes the snapshot (the capability probe saw both). Extents themselves
 * are immutable (every write lands in a fresh extent chunk) — Create Snapshot is point-in-time because it
 * slices the arrays.
 *
 * What: after Azurite's Loki metadata store opens its database, the blobs collection's `insertOne` gives
 * every inserted document its own copies of those arrays (and of `persistency`), as Create Snapshot does.
 * Documents loaded from disk are already separate. Any other Azurite version: nothing is patched.
 */
const { whenAzuriteLoads, warn } = require('./azurite-module-hook');

const PATCHED = Symbol.for('kluis.azurite-copy-isolation.patched');

/** The document with list fields of its own; the range objects are never mutated by Azurite, so slices suffice. */
function withOwnLists(doc) {
  if (doc === null || typeof doc !== 'object') return doc;
  if (Array.isArray(doc.pageRangesInOrder)) doc.pageRangesInOrder = doc.pageRangesInOrder.slice();
  if (Array.isArray(doc.committedBlocksInOrder)) doc.committedBlocksInOrder = doc.committedBlocksInOrder.slice();
  if (doc.persistency !== null && typeof doc.persistency === 'object') doc.persistency = { ...doc.persistency };
  return doc;
}

function isolateInserts(collection) {
  if (collection === null || collection[PATCHED]) return;
  const insertOne = collection.insertOne;
  collection.insertOne = function insertOneWithOwnLists(doc, bulkInsert) {
    return insertOne.call(this, withOwnLists(doc), bulkInsert);
  };
  collection[PATCHED] = true;
}

function patchMetadataStore(storeModule) {
  const LokiBlobMetadataStore = storeModule && storeModule.default;
  if (typeof LokiBlobMetadataStore !== 'function' || LokiBlobMetadataStore.prototype[PATCHED]) return;
  const init = LokiBlobMetadataStore.prototype.init;
  if (typeof init !== 'function') {
    warn('LokiBlobMetadataStore.prototype.init not found; copy isolation extension not active');
    return;
  }
  LokiBlobMetadataStore.prototype.init = async function initWithIsolatedCopies() {
    await init.apply(this, arguments);
    isolateInserts(this.db.getCollection(this.BLOBS_COLLECTION));
  };
  LokiBlobMetadataStore.prototype[PATCHED] = true;
  process.stderr.write('kluis: azurite copy isolation extension active\n');
}

whenAzuriteLoads('dist/src/blob/persistence/LokiBlobMetadataStore.js', patchMetadataStore, { name: 'copy isolation' });

module.exports = { withOwnLists };
