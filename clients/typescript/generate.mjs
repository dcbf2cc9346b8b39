// Types for a faceseal client, generated from the served OpenAPI document (docs/INTEGRATION.md):
//   node generate.mjs [document URL or file, default http://127.0.0.1:8000/openapi.json] [output, default faceseal.d.ts]
// openapi-typescript types `format: binary` as string; a multipart file part is a Blob, so the transform says so.
import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";
import ts from "typescript";

const [source = "http://127.0.0.1:8000/openapi.json", target = "faceseal.d.ts"] = process.argv.slice(2);
const BLOB = ts.factory.createTypeReferenceNode("Blob");
const ast = await openapiTS(new URL(source, pathToFileURL(`${process.cwd()}/`)), {
  transform: (schema) => (schema.format === "binary" ? BLOB : undefined),
});
writeFileSync(target, astToString(ast));
