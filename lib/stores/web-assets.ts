/**
 * The dashboard's built files (`dist/web`, made by `npm run build`): read by name, relative to the
 * build's folder. Implementation: `file/web-assets.ts` (the file system, read once and kept).
 */
export interface WebAssetStore {
  /** The file's bytes, or undefined when the build has no such file. `file` is a checked relative path (lib/domain/dashboard-assets). */
  read(file: string): Promise<Buffer | undefined>;
}
