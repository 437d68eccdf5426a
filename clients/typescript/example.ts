/**
 * A counter's first steps with the generated TypeScript client: list the readers, unlock the
 * CPS and have it sign a document. Run against a daemon (tests/test_clients_e2e.py does):
 *
 *   npx tsc -p clients/typescript && node clients/typescript/dist/example.js
 *
 * with COMPTOIR_URL, COMPTOIR_CA, COMPTOIR_CERT, COMPTOIR_KEY (PEM files of an enrolled
 * counter), COMPTOIR_OPERATOR and COMPTOIR_PIN in the environment. Prints one JSON object:
 * the readers, the CPS reader used, the signed data and the signature (base64).
 */
import { readFileSync } from "node:fs";

import { type components, createComptoirClient } from "./src/index.js";

type Problem = components["schemas"]["ProblemDetails"];

function setting(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new Error(`${name} is not set`);
  }
  return value;
}

/** Every error answer is typed as RFC 9457 problem details: the slug says what went wrong. */
function problem(step: string, status: number, body: Problem | undefined): Error {
  return new Error(`${step}: HTTP ${status} ${body?.type ?? "?"}: ${body?.detail ?? ""}`);
}

async function main(): Promise<void> {
  const client = createComptoirClient({
    baseUrl: setting("COMPTOIR_URL"),
    ca: readFileSync(setting("COMPTOIR_CA"), "utf8"),
    cert: readFileSync(setting("COMPTOIR_CERT"), "utf8"),
    key: readFileSync(setting("COMPTOIR_KEY"), "utf8"),
    operator: setting("COMPTOIR_OPERATOR"),
  });
  try {
    const listed = await client.api.GET("/v1/readers");
    if (listed.data === undefined) {
      throw problem("readers", listed.response.status, listed.error);
    }
    const readers = listed.data;
    const cps = readers.find((reader) => reader.card_kind === "cps");
    if (cps === undefined || typeof cps.name !== "string") {
      throw new Error("no CPS in any reader");
    }
    const path = { reader: cps.name };

    const unlocked = await client.api.POST("/v1/cps/{reader}/unlock", {
      params: { path },
      body: { pin: setting("COMPTOIR_PIN") },
    });
    if (unlocked.data === undefined) {
      throw problem("unlock", unlocked.response.status, unlocked.error);
    }

    const data = Buffer.from("Ordonnance du jour, signée au comptoir", "utf8").toString("base64");
    const signed = await client.api.POST("/v1/cps/{reader}/sign", {
      params: { path },
      body: { key: "sign", data_b64: data },
    });
    if (signed.data === undefined) {
      throw problem("sign", signed.response.status, signed.error);
    }
    console.log(JSON.stringify({
      readers,
      cps_reader: cps.name,
      data_b64: data,
      signature_b64: signed.data.signature_b64,
    }));
  } finally {
    await client.close();
  }
}

main().catch((error: unknown) => {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
