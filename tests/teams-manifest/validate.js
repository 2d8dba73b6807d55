// Validates a Teams app manifest with Microsoft's own code: AppManifestUtils.validateAgainstSchema from
// @microsoft/app-manifest (the library of the Microsoft 365 Agents Toolkit), against the JSON schema that ships in that
// package for the manifest's version — read from node_modules, never fetched.
// usage: node validate.js manifest.json   → prints {"schema":…,"package":…,"newest":…,"problems":[…]}
"use strict";
const fs = require("fs");
const path = require("path");
const { AppManifestUtils } = require("@microsoft/app-manifest");

const packageDir = path.dirname(require.resolve("@microsoft/app-manifest/package.json"));
const schemasDir = path.join(packageDir, "build", "json-schemas", "teams");

(async () => {
  const manifest = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const version = manifest.manifestVersion;
  const url = `https://developer.microsoft.com/json-schemas/teams/v${version}/MicrosoftTeams.schema.json`;
  const schemaFile = path.join(schemasDir, `v${version}`, "MicrosoftTeams.schema.json");
  const problems = [];
  if (manifest.$schema !== url) {
    problems.push(`$schema must be ${url}`);
  }
  if (!fs.existsSync(schemaFile)) {
    problems.push(`@microsoft/app-manifest has no schema for manifestVersion ${version}`);
  } else {
    const schema = JSON.parse(fs.readFileSync(schemaFile, "utf8"));
    problems.push(...(await AppManifestUtils.validateAgainstSchema(manifest, schema)));
  }
  const newest = fs.readdirSync(schemasDir)
    .map((d) => /^v(\d+)\.(\d+)$/.exec(d))
    .filter(Boolean)
    .sort((a, b) => (a[1] - b[1]) || (a[2] - b[2]))
    .map((m) => `${m[1]}.${m[2]}`)
    .pop();
  const version_ = require(path.join(packageDir, "package.json")).version;
  console.log(JSON.stringify({ schema: url, package: version_, newest, problems }));
})().catch((e) => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
