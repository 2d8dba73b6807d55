#!/usr/bin/env node
// Evaluates ValidatingAdmissionPolicies (admissionregistration.k8s.io/v1) the way the API server does, with an
// independent CEL evaluator (@bufbuild/cel), against AdmissionRequest-shaped inputs.
//
//   node evaluate.mjs CASES.json
//
// CASES.json: { "manifests": "<rendered YAML, e.g. kubectl kustomize output>",
//               "cases": [ { "name": "…", "request": { operation, userInfo: { username }, resource: { group, version,
//                            resource }, subResource?, namespace?, name?, dryRun? }, "object": {…}|null,
//                            "oldObject": {…}|null } ] }
// Prints one JSON line per case: { name, matched, allowed, failures: [ { policy, message, error? } ] }.
//
// What it does as the API server does (kubernetes/staging/src/k8s.io/apiserver/pkg/admission/plugin/policy):
// - matchConstraints.resourceRules / excludeResourceRules: operations, apiGroups, apiVersions, resources with the
//   "*", "*/*", "r/*" and "*/s" forms; a binding's matchResources narrows the same way.
// - matchConditions all true, or the policy does not apply; an error there follows failurePolicy.
// - variables in order, each seeing the ones before it as `variables.name`; a variable whose expression errors is left
//   out, so an expression that reaches it errors where the API server's lazy evaluation would (and `x || error` is
//   still true, as CEL's commutative || makes it in both).
// - every validation evaluated; false fails with messageExpression (falling back to message); an error fails under
//   failurePolicy Fail. validationActions Deny refuses the request; Warn and Audit only report.
// - object and oldObject as the API server hands them to CEL (an unstructured map: JSON integers are CEL ints, objects
//   are maps whose keys can be iterated).
// What it does not do: namespaceSelector, objectSelector, paramKind/params, authorizer, cost limits, type checking,
// Kubernetes' CEL extension libraries (quantity, url, ip, regex find…): the policy must not need them.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { run, isCelError } from "@bufbuild/cel";

const input = JSON.parse(readFileSync(process.argv[2] ?? 0, "utf8"));
const documents = parseAllDocuments(input.manifests).map((d) => d.toJS()).filter((d) => d && typeof d === "object");
const policies = documents.filter((d) => d.apiVersion === "admissionregistration.k8s.io/v1" && d.kind === "ValidatingAdmissionPolicy");
const bindings = documents.filter((d) => d.apiVersion === "admissionregistration.k8s.io/v1" && d.kind === "ValidatingAdmissionPolicyBinding");
if (policies.length === 0) {
  console.error("no admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy in the manifests");
  process.exit(2);
}

let failed = false;
for (const c of input.cases) {
  try {
    console.log(JSON.stringify({ name: c.name, ...admit(c) }));
  } catch (e) {
    failed = true;
    console.log(JSON.stringify({ name: c.name, matched: false, allowed: false, failures: [{ policy: "(harness)", message: String(e.message ?? e), error: true }] }));
  }
}
process.exit(failed ? 1 : 0);

function admit(c) {
  const request = toCel(c.request);
  const object = c.object === undefined ? null : toCel(c.object);
  const oldObject = c.oldObject === undefined ? null : toCel(c.oldObject);
  let matched = false;
  let allowed = true;
  const failures = [];
  for (const policy of policies) {
    const name = policy.metadata.name;
    const spec = policy.spec ?? {};
    const failClosed = (spec.failurePolicy ?? "Fail") === "Fail";
    for (const binding of bindings.filter((b) => b.spec?.policyName === name)) {
      if (!matchesResources(spec.matchConstraints, c.request) || (binding.spec.matchResources && !matchesResources(binding.spec.matchResources, c.request))) continue;
      if (spec.paramKind || binding.spec.paramRef) throw new Error(`${name}: params are not supported by this evaluator`);

      const base = { object, oldObject, request };
      let conditionsHold = true;
      let conditionError = null;
      for (const condition of spec.matchConditions ?? []) {
        const result = run(condition.expression, base);
        if (isCelError(result)) conditionError = `matchCondition ${condition.name}: ${result.message}`;
        else if (result !== true) conditionsHold = false;
      }
      if (!conditionsHold) continue; // a false condition wins over an error: the policy does not apply
      matched = true;
      const deny = (binding.spec.validationActions ?? []).includes("Deny");
      if (conditionError) {
        if (failClosed) {
          failures.push({ policy: name, message: conditionError, error: true });
          if (deny) allowed = false;
        }
        continue;
      }

      const variables = new Map();
      for (const variable of spec.variables ?? []) {
        const value = run(variable.expression, { ...base, variables });
        if (!isCelError(value)) variables.set(variable.name, value);
      }

      for (const validation of spec.validations ?? []) {
        const result = run(validation.expression, { ...base, variables });
        if (result === true) continue;
        if (isCelError(result)) {
          if (!failClosed) continue;
          failures.push({ policy: name, message: `expression '${validation.expression}' resulted in error: ${result.message}`, error: true });
        } else if (result === false) {
          failures.push({ policy: name, message: message(validation, { ...base, variables }) });
        } else {
          failures.push({ policy: name, message: `expression did not evaluate to a bool: ${validation.expression}`, error: true });
        }
        if (deny) allowed = false;
      }
    }
  }
  return { matched, allowed, failures };
}

function message(validation, bindings) {
  if (validation.messageExpression) {
    const text = run(validation.messageExpression, bindings);
    if (typeof text === "string" && text.trim() !== "") return text;
  }
  return validation.message ?? `failed expression: ${validation.expression}`;
}

function matchesResources(constraints, request) {
  if (!constraints) return false;
  for (const selector of ["namespaceSelector", "objectSelector"]) {
    const s = constraints[selector];
    if (s && Object.keys(s).some((k) => (Array.isArray(s[k]) ? s[k].length > 0 : Object.keys(s[k] ?? {}).length > 0))) {
      throw new Error(`${selector} is not supported by this evaluator`);
    }
  }
  const included = (constraints.resourceRules ?? []).some((rule) => matchesRule(rule, request));
  const excluded = (constraints.excludeResourceRules ?? []).some((rule) => matchesRule(rule, request));
  return included && !excluded;
}

function matchesRule(rule, request) {
  const has = (list, value) => (list ?? []).includes("*") || (list ?? []).includes(value);
  if (!has(rule.operations, request.operation)) return false;
  if (!has(rule.apiGroups, request.resource.group)) return false;
  if (!has(rule.apiVersions, request.resource.version)) return false;
  const resource = request.resource.resource;
  const sub = request.subResource ?? "";
  return (rule.resources ?? []).some((pattern) => {
    if (pattern === "*/*") return true;
    const [r, s] = pattern.includes("/") ? pattern.split("/") : [pattern, ""];
    if (s === "") return sub === "" && (r === "*" || r === resource);
    return (r === "*" || r === resource) && (s === "*" || s === sub);
  });
}

// JSON as the API server's unstructured map reaches CEL: objects are maps, integers are ints (int64), other numbers doubles.
// A field whose value is null (a pod template's "creationTimestamp": null, as 1.33 serializes a zero time) is left out:
// @bufbuild/cel lists such a key when iterating a map but answers `in`/has() false for it, so `m.all(k, k in old)`
// would fail on two equal objects, while cel-go sees the key present with a null value on both sides. Leaving it out
// keeps iteration, `in` and equality consistent, as they are in the API server.
function toCel(value) {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.map(toCel);
  if (typeof value === "number") return Number.isInteger(value) ? BigInt(value) : value;
  if (typeof value === "object") return new Map(Object.entries(value).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => [k, toCel(v)]));
  return value;
}
