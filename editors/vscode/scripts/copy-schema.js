#!/usr/bin/env node
// Copy the project's JSON Schema (../../schema/ame.schema.json, or $AME_SCHEMA_PATH) into ./schema/
// so the `yamlValidation` contribution can reference it. A missing source is
// not an error: the extension still works, only YAML-extension validation is off.
"use strict";
const fs = require("fs");
const path = require("path");

const src = process.env.AME_SCHEMA_PATH
  ? path.resolve(process.env.AME_SCHEMA_PATH)
  : path.resolve(__dirname, "..", "..", "..", "schema", "ame.schema.json");
const destDir = path.resolve(__dirname, "..", "schema");
const dest = path.join(destDir, "ame.schema.json");

if (!fs.existsSync(src)) {
  console.warn(`copy-schema: ${src} not found; skipping (yamlValidation will have no schema)`);
  process.exit(0);
}
fs.mkdirSync(destDir, { recursive: true });
fs.copyFileSync(src, dest);
console.log(`copy-schema: ${src} -> ${dest}`);
