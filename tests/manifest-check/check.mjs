#!/usr/bin/env node
// Validates Kubernetes manifests against the API's OpenAPI schemas (kubernetes-models).
// Reads a multi-document YAML stream (the output of `kubectl kustomize DIR`) from stdin, or from the files given.
// Prints one JSON line per document ({"kind","name","ok","errors"}) and exits 1 when any document is invalid.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const inputs = process.argv.length > 2 ? process.argv.slice(2).map((f) => readFileSync(f, "utf8")) : [readFileSync(0, "utf8")];

// Fields the schemas do not forbid but that Kubernetes would drop silently: a typo there is a bug, so check it here.
const knownTopLevel = new Set(["apiVersion", "kind", "metadata", "spec", "data", "stringData", "type", "rules", "roleRef", "subjects", "immutable", "binaryData", "automountServiceAccountToken", "imagePullSecrets", "secrets", "webhooks"]);

let failed = false;
let count = 0;
for (const input of inputs) {
  for (const document of parseAllDocuments(input)) {
    if (document.errors.length > 0) {
      failed = true;
      console.log(JSON.stringify({ ok: false, errors: document.errors.map((e) => e.message) }));
      continue;
    }

    const object = document.toJS();
    if (object === null || object === undefined) continue;
    count++;
    const name = object?.metadata?.name ?? "(no name)";
    const kind = object?.kind ?? "(no kind)";
    const errors = await validate(object);
    if (errors.length > 0) failed = true;
    console.log(JSON.stringify({ kind, name, ok: errors.length === 0, errors }));
  }
}

if (count === 0) {
  console.log(JSON.stringify({ ok: false, errors: ["no Kubernetes objects in the input"] }));
  failed = true;
}

process.exit(failed ? 1 : 0);

async function validate(object) {
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== "string" || typeof kind !== "string") return ["apiVersion and kind must be strings"];
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const path = group === "" ? `kubernetes-models/${version}/${kind}` : `kubernetes-models/${group}/${version}/${kind}`;
  let model;
  try {
    model = (await import(path))[kind];
  } catch {
    return [`${apiVersion} ${kind} is not a kind the Kubernetes API serves`];
  }

  const errors = [];
  for (const field of Object.keys(object)) {
    if (!knownTopLevel.has(field)) errors.push(`unknown top-level field "${field}"`);
  }

  try {
    new model(object).validate();
  } catch (e) {
    errors.push(e.message);
  }

  return errors;
}
