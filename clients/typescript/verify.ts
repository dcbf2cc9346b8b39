// One verify through the generated types and openapi-fetch (docs/INTEGRATION.md):
//   FACESEAL_URL=http://127.0.0.1:8000 FACESEAL_KEY=fs_... node build/verify.js REFERENCE SELFIE [SELFIE...]
// Prints the decision, or the typed Problem (exit 1) with its Retry-After when the service asks to come back.
import { readFileSync } from "node:fs";
import createClient from "openapi-fetch";
import type { components, paths } from "./faceseal.js";

type Problem = components["schemas"]["Problem"];
type VerifyForm = components["schemas"]["VerifyForm"];

// Worth retrying after Retry-After seconds with the same frames; every other problem needs a different request.
const RETRYABLE: ReadonlySet<Problem["code"]> = new Set(["overloaded", "rate_limited", "queue_timeout",
                                                         "shutting_down", "not_ready"]);

function multipart(body: VerifyForm): FormData {
  const form = new FormData();
  body.selfie.forEach((frame, index) => form.append("selfie", frame, `selfie-${index}.jpg`));
  form.append("reference", body.reference, "reference.jpg");
  if (body.preset !== undefined) form.append("preset", body.preset);
  return form;
}

const [reference, ...selfie] = process.argv.slice(2);
if (reference === undefined || selfie.length === 0) throw new Error("usage: verify.js REFERENCE SELFIE [SELFIE...]");
const image = (path: string): Blob => new Blob([readFileSync(path)]);
const client = createClient<paths>({
  baseUrl: process.env.FACESEAL_URL ?? "http://127.0.0.1:8000",
  headers: { Authorization: `Bearer ${process.env.FACESEAL_KEY ?? ""}` },
});
const body: VerifyForm = { selfie: selfie.map(image), reference: image(reference) };
const { data, error, response } = await client.POST("/v1/verify", { body, bodySerializer: () => multipart(body) });
if (error !== undefined) {
  const retryAfter = RETRYABLE.has(error.code) ? Number(response.headers.get("retry-after")) : null;
  console.log(JSON.stringify({ status: error.status, code: error.code, detail: error.detail, retry_after: retryAfter }));
  process.exit(1);
}
console.log(JSON.stringify({ decision: data.decision, reasons: data.reasons, request_id: data.request_id }));
