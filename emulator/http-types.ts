/** The host-internal shape of one HTTP exchange, independent of node:http. */
export interface HostRequest {
  method: string;
  url: URL;
  headers: Headers;
  body: Buffer;
}

export interface HostResponse {
  status: number;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
}
