// Load a KHR_gaussian_splatting .glb with the PlayCanvas engine's own glTF parser (headless, null device).
// Prints {count, shBands, activated, aabb: {center, halfExtents}} as JSON; with a second argument, also
// writes the decoded splats there as a binary little-endian INRIA-layout .ply (scale and opacity as the
// engine holds them: linear, so the properties are named scale_lin_* and opacity_lin).
import { readFile, writeFile } from "node:fs/promises";
import { BoundingBox, NullGraphicsDevice } from "playcanvas";
import { GlbParser } from "playcanvas/build/playcanvas/src/framework/parsers/glb-parser.js";
import { khrGaussianSplatting } from "playcanvas/build/playcanvas/src/framework/parsers/glb/extensions/khr-gaussian-splatting.js";

const [path, out] = process.argv.slice(2);
const bytes = await readFile(path);
const data = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
const device = new NullGraphicsDevice({ width: 1, height: 1, style: {} });
const registry = { loader: { _app: null } };
const result = await new Promise((resolve, reject) => {
  GlbParser.parse(path, "", data, device, registry, {}, [khrGaussianSplatting], (err, res) => (err ? reject(new Error(err)) : resolve(res)));
});
const resources = (result.gsplats ?? []).flat().filter(Boolean);
if (resources.length !== 1) {
  console.error(`expected one splat primitive, the engine found ${resources.length}`);
  process.exit(1);
}
const splats = resources[0].gsplatData;
const aabb = new BoundingBox();
splats.calcAabb(aabb);
const report = {
  count: splats.numSplats,
  shBands: splats.shBands,
  activated: splats.activated,
  aabb: { center: [aabb.center.x, aabb.center.y, aabb.center.z], halfExtents: [aabb.halfExtents.x, aabb.halfExtents.y, aabb.halfExtents.z] },
};
if (out) {
  const props = splats.getElement("vertex").properties.map((p) => p.name);
  const n = splats.numSplats;
  const rename = (name) => (name.startsWith("scale_") ? name.replace("scale_", "scale_lin_") : name === "opacity" ? "opacity_lin" : name);
  const header = ["ply", "format binary_little_endian 1.0", `element vertex ${n}`, ...props.map((p) => `property float ${rename(p)}`), "end_header", ""].join("\n");
  const body = new Float32Array(n * props.length);
  props.forEach((name, j) => {
    const column = splats.getProp(name);
    for (let i = 0; i < n; i++) body[i * props.length + j] = column[i];
  });
  await writeFile(out, Buffer.concat([Buffer.from(header, "ascii"), Buffer.from(body.buffer)]));
  report.properties = props;
}
console.log(JSON.stringify(report));
