'use strict';
/**
 * Shared by the Azurite extensions (preloaded with `node --require`): runs a patch when Azurite loads
 * one of its modules, for the pinned Azurite version only.
 *
 *   whenAzuriteLoads(fileInPackage, patch, { name })
 *     fileInPackage  e.g. 'dist/src/blob/handlers/PageBlobHandler.js' (path inside the azurite package)
 *     patch(exports, filename, azuriteRequire)  called once, with a `require` resolving from that module
 *
 * One `Module.prototype.require` wrapper serves every registered patch and steps out of the way once
 * all of them have run. Another Azurite version: nothing is patched and a warning names the extension.
 */
const fs = require('fs');
const Module = require('module');
const path = require('path');

const SUPPORTED_AZURITE_VERSION = '3.35.0';
const REGISTRY = Symbol.for('kluis.azurite-module-hook.registry');

/** @type {{ pending: Array<{ suffix: string, baseName: string, name: string, patch: Function }>, originalRequire?: Function }} */
const registry = globalThis[REGISTRY] || (globalThis[REGISTRY] = { pending: [] });

function whenAzuriteLoads(fileInPackage, patch, { name }) {
  const suffix = path.sep + path.join('azurite', ...fileInPackage.split('/'));
  registry.pending.push({ suffix, baseName: path.basename(fileInPackage, '.js'), name, patch });
  installRequireHook();
}

function installRequireHook() {
  if (registry.originalRequire !== undefined) return;
  const originalRequire = Module.prototype.require;
  registry.originalRequire = originalRequire;
  Module.prototype.require = function requireWatchingForAzuriteModules(id) {
    const exported = originalRequire.apply(this, arguments);
    if (typeof id !== 'string') return exported;
    const bare = id.endsWith('.js') ? id.slice(0, -3) : id;
    const due = registry.pending.filter((entry) => bare.endsWith(entry.baseName));
    for (const entry of due) {
      const filename = resolvedAzuriteFile(id, this, entry.suffix);
      if (filename === undefined) continue;
      registry.pending.splice(registry.pending.indexOf(entry), 1);
      runPatch(entry, exported, filename);
    }
    if (registry.pending.length === 0 && Module.prototype.require === requireWatchingForAzuriteModules) {
      Module.prototype.require = originalRequire;
    }
    return exported;
  };
}

function runPatch(entry, exported, filename) {
  try {
    const version = azuritePackageVersion(filename, entry.suffix);
    if (version !== SUPPORTED_AZURITE_VERSION) {
      warn(`azurite ${version} found; the ${entry.name} extension is for ${SUPPORTED_AZURITE_VERSION}, not patching`);
      return;
    }
    entry.patch(exported, filename, Module.createRequire(filename));
  } catch (error) {
    warn(`${entry.name} extension failed to patch Azurite: ${error && error.stack ? error.stack : error}`);
  }
}

/** The file `require(id)` from `parent` loaded, if it is the Azurite module ending in `suffix`. */
function resolvedAzuriteFile(id, parent, suffix) {
  if (!parent || typeof parent.filename !== 'string') return undefined;
  try {
    const filename = Module.createRequire(parent.filename).resolve(id);
    return filename.endsWith(suffix) ? filename : undefined;
  } catch {
    return undefined;
  }
}

function azuritePackageVersion(filename, suffix) {
  const packageRoot = filename.slice(0, -suffix.length + path.sep.length + 'azurite'.length);
  return JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')).version;
}

function warn(message) {
  process.stderr.write(`kluis: warning: ${message}\n`);
}

module.exports = { whenAzuriteLoads, warn, SUPPORTED_AZURITE_VERSION };
