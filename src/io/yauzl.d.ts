/** The part of yauzl 3's API Kestrel uses (the published @types/yauzl describe version 2). */
declare module 'yauzl' {
  /** One central-directory entry. */
  export interface Entry {
    fileName: string;
    compressionMethod: number;
    compressedSize: number;
    uncompressedSize: number;
    relativeOffsetOfLocalHeader: number;
    isEncrypted(): boolean;
  }
  /** An open archive (lazyEntries mode). */
  export interface ZipFile {
    entryCount: number;
    eachEntry(): AsyncIterable<Entry>;
    readLocalFileHeaderPromise(entry: Entry, options: { minimal: true }): Promise<{ fileDataStart: number }>;
  }
  /** Reads the central directory of the archive open as `fd` (not closed by yauzl). */
  export function fromFdPromise(fd: number, options?: { autoClose?: boolean; strictFileNames?: boolean; validateEntrySizes?: boolean }): Promise<ZipFile>;
}
