// Validate a .glb/.gltf with the Khronos glTF validator; print its JSON report, exit 1 on errors.
import { readFile } from "node:fs/promises";
import validator from "gltf-validator";

const path = process.argv[2];
const data = new Uint8Array(await readFile(path));
const report = await validator.validateBytes(data, { uri: path, maxIssues: 100 });
console.log(JSON.stringify(report, null, 1));
process.exit(report.issues.numErrors > 0 ? 1 : 0);
