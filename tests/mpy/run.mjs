// Runs tests/mpy/cases/test_*.py on the real MicroPython interpreter (WebAssembly build).
// The firmware sources under appliance/ are copied into the interpreter's filesystem as-is.
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";
import { readFileSync, readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
let out = [];
const mp = await loadMicroPython({
  stdout: (l) => out.push(l),
  stderr: (l) => out.push(l),
});
mp.FS.mkdir("/app");
mp.FS.mkdir("/app/appliance");
// COMPTOIR_MPY_IMAGE=DIR: the firmware image's compiled modules (scripts/board.sh image DIR)
// instead of the sources, so the tests prove what a board would run; the simulated board,
// which the image leaves out, still comes from source.
const image = process.env.COMPTOIR_MPY_IMAGE;
if (image) {
  for (const f of readdirSync(join(image, "appliance"))) {
    if (f.endsWith(".mpy")) mp.FS.writeFile(`/app/appliance/${f}`, readFileSync(join(image, "appliance", f)));
  }
  mp.FS.writeFile("/app/appliance/hal_sim.py", readFileSync(join(root, "appliance", "hal_sim.py")));
} else {
  for (const f of readdirSync(join(root, "appliance"))) {
    if (f.endsWith(".py")) mp.FS.writeFile(`/app/appliance/${f}`, readFileSync(join(root, "appliance", f)));
  }
}
mp.runPython("import sys; sys.path.insert(0, '/app')");

let passed = 0, failed = 0;
// Every case file first: a case may import another's helpers.
for (const f of readdirSync(join(here, "cases"))) {
  if (f.endsWith(".py")) mp.FS.writeFile(`/app/${f}`, readFileSync(join(here, "cases", f)));
}
const cases = readdirSync(join(here, "cases")).filter((f) => /^test_.*\.py$/.test(f)).sort();
for (const file of cases) {
  const mod = file.replace(/\.py$/, "");
  out = [];
  try {
    mp.runPython(`import ${mod}\nprint("\\n".join(n for n in dir(${mod}) if n.startswith("test_")))`);
  } catch (e) {
    failed++;
    console.log(`FAIL import ${mod}\n${String(e)}\n${out.join("\n")}`);
    continue;
  }
  const names = out.filter((l) => l.startsWith("test_"));
  for (const name of names) {
    out = [];
    try {
      mp.runPython(`${mod}.${name}()`);
      passed++;
      console.log(`PASS ${mod}.${name}`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${mod}.${name}\n${String(e)}\n${out.join("\n")}`);
    }
  }
}
const impl = [];
out = [];
mp.runPython("import sys; print(sys.implementation.name, sys.version)");
console.log(`interpreter: ${out.join(" ")}`);
out = [];
mp.runPython("import appliance.protocol, appliance.link; print(appliance.protocol.__file__, appliance.link.__file__)");
console.log(`modules: ${out.join(" ")}`);
console.log(`micropython: ${passed} passed, ${failed} failed`);
process.exit(failed || passed === 0 ? 1 : 0);
