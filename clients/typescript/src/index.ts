/**
 * The Comptoir LAN API for TypeScript LGOs: `paths`/`components` are generated from the
 * daemon's OpenAPI document (src/schema.d.ts, scripts/gen_clients.sh); requests go through
 * openapi-fetch, typed by those paths.
 *
 * Every call needs the counter's enrolled client certificate (mTLS). Node's global fetch takes
 * no certificate, so requests run on undici's own fetch, Request and an Agent holding the
 * certificate: one undici throughout, whatever version Node bundles.
 */
import createClient, { type Client } from "openapi-fetch";
import { Agent, fetch as undiciFetch, Request as UndiciRequest } from "undici";

import type { paths } from "./schema.js";

export type { components, operations, paths } from "./schema.js";

export interface MtlsOptions {
  /** e.g. https://comptoir.local:8443 */
  baseUrl: string;
  /** PEM of the box's local CA (`comptoir enrol` saves it beside the certificate). */
  ca: string;
  /** PEM of this counter's certificate and its private key. */
  cert: string;
  key: string;
  /** The LGO's logged-in person, sent as X-Comptoir-Operator on every request. */
  operator?: string;
}

export interface ComptoirClient {
  api: Client<paths>;
  /** Closes the kept-alive connections; call it before the program ends. */
  close(): Promise<void>;
}

export function createComptoirClient(options: MtlsOptions): ComptoirClient {
  const dispatcher = new Agent({
    connect: { ca: options.ca, cert: options.cert, key: options.key },
  });
  const headers: Record<string, string> = {};
  if (options.operator !== undefined) {
    // Header values are bytes: a name with accents travels percent-encoded (the API decodes it).
    headers["X-Comptoir-Operator"] = encodeURIComponent(options.operator);
  }
  const api = createClient<paths>({
    baseUrl: options.baseUrl,
    headers,
    // undici's classes have the WHATWG shapes but their own TypeScript declarations.
    fetch: undiciFetch as unknown as (input: Request) => Promise<Response>,
    Request: UndiciRequest as unknown as typeof Request,
    requestInitExt: { dispatcher },
  });
  return { api, close: () => dispatcher.close() };
}
